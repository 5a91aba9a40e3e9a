package cli

import "testing"

// TestHelp checks that every command of this file set builds its flags without
// a shorthand clash and has an example.
func TestHelp(t *testing.T) {
	mine := map[string]bool{"new": true, "build": true, "push": true, "deploy": true, "up": true, "invoke": true,
		"list": true, "describe": true, "remove": true, "scale": true, "logs": true, "login": true,
		"namespace": true, "secret": true, "version": true}
	for _, c := range newRootCmd().Commands() {
		if !mine[c.Name()] {
			continue
		}
		t.Run(c.Name(), func(t *testing.T) {
			if c.Example == "" {
				t.Errorf("%s has no example", c.Name())
			}
			if _, _, err := runCLI(t, "", c.Name(), "--help"); err != nil {
				t.Fatal(err)
			}
			for _, sub := range c.Commands() {
				if _, _, err := runCLI(t, "", c.Name(), sub.Name(), "--help"); err != nil {
					t.Errorf("%s %s: %v", c.Name(), sub.Name(), err)
				}
			}
		})
	}
}
