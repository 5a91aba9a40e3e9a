package gateway

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed ui
var uiFiles embed.FS

// uiHandler serves the embedded dashboard under /ui/.
func uiHandler() http.Handler {
	sub, err := fs.Sub(uiFiles, "ui")
	if err != nil { // cannot happen: the directory is embedded above
		return http.NotFoundHandler()
	}
	return http.StripPrefix("/ui/", http.FileServerFS(sub))
}
