package stack

import (
	"fmt"
	"path"
	"regexp"
	"sort"
)

// Select returns the functions whose names match the glob filter and the regular
// expression (each optional), sorted by name.
func (st *Stack) Select(filter, expr string) ([]Function, error) {
	var re *regexp.Regexp
	if expr != "" {
		var err error
		if re, err = regexp.Compile(expr); err != nil {
			return nil, fmt.Errorf("compile --regex: %w", err)
		}
	}
	if filter != "" {
		if _, err := path.Match(filter, ""); err != nil {
			return nil, fmt.Errorf("parse --filter: %w", err)
		}
	}
	out := make([]Function, 0, len(st.Functions))
	for name, fn := range st.Functions {
		if filter != "" {
			if ok, _ := path.Match(filter, name); !ok {
				continue
			}
		}
		if re != nil && !re.MatchString(name) {
			continue
		}
		out = append(out, fn)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
