// Package templates embeds fjord's function templates. Each directory holds a
// template.yml, the files that run the handler, and function/: the starting
// handler that `fjord new` copies.
package templates

import "embed"

// FS holds the templates, one directory per language.
//
//go:embed all:python3 all:python3-http all:go all:node all:bash
var FS embed.FS
