package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"

	"github.com/fjord-faas/fjord/internal/stack"
)

// newEntry is the stack entry written by "fjord new".
type newEntry struct{ name, lang, handler, image string }

// addToStack appends entry to the functions of file, creating the file if
// needed. Editing the YAML tree keeps the file's comments and order.
func addToStack(file string, e newEntry) error {
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		data = []byte(fmt.Sprintf("version: \"1.0\"\nprovider:\n  name: openfaas\n  gateway: %s\nfunctions: {}\n", stack.DefaultGateway))
	} else if err != nil {
		return fmt.Errorf("read stack file: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: parse yaml: %w", file, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return fmt.Errorf("%s: not a stack file", file)
	}
	fns := mappingValue(doc.Content[0], "functions")
	if fns == nil {
		doc.Content[0].Content = append(doc.Content[0].Content, scalar("functions"), &yaml.Node{Kind: yaml.MappingNode})
		fns = doc.Content[0].Content[len(doc.Content[0].Content)-1]
	}
	if fns.Kind != yaml.MappingNode {
		fns.Kind, fns.Tag, fns.Value, fns.Content = yaml.MappingNode, "", "", nil
	}
	if mappingValue(fns, e.name) != nil {
		return fmt.Errorf("%s: function %s already exists", file, e.name)
	}
	fns.Style = 0
	fn := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		scalar("lang"), scalar(e.lang), scalar("handler"), scalar(e.handler), scalar("image"), scalar(e.image),
	}}
	fns.Content = append(fns.Content, scalar(e.name), fn)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("encode stack file: %w", err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write stack file: %w", err)
	}
	return nil
}

// stackHasFunction reports whether file exists and lists function name.
func stackHasFunction(file, name string) bool {
	data, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return false
	}
	fns := mappingValue(doc.Content[0], "functions")
	return fns != nil && mappingValue(fns, name) != nil
}

func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }
