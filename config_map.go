package baton

import (
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// SetConfigWithMap sets the settings that m names, by the keys of a server
// section of the configuration file, baton's or GoFrame's ("address",
// "clientMaxBodySize": "8MB", "sessionMaxAge": "24h", "cookie":
// map[string]any{"secure": true}...), and leaves the others as they are.
// Values are what the file would hold (strings, numbers, booleans, lists,
// maps) or Go values of the setting's type, such as a time.Duration. An
// unknown key or a value that does not fit is an error, and then nothing
// is set; a GoFrame key that baton has no setting for is logged as a
// warning and ignored. Like SetConfig, what it sets is a setting of code,
// which the configuration file no longer overrides.
func (s *Server) SetConfigWithMap(m map[string]any) error {
	var n yaml.Node
	if err := n.Encode(m); err != nil {
		return fmt.Errorf("baton: SetConfigWithMap: %w", err)
	}
	const where = "SetConfigWithMap"
	sf, _, warns, err := decodeServerSection(where, "server", &n)
	if err != nil {
		return mapError(err)
	}
	var unknown []string
	for _, w := range warns {
		w = strings.ReplaceAll(strings.TrimPrefix(w, where+":0: "), `"server.`, `"`)
		if strings.HasPrefix(w, "unknown key") {
			unknown = append(unknown, strings.TrimSuffix(w, " (ignored)"))
			continue
		}
		s.Logger().Warn("baton: SetConfigWithMap", "problem", w)
	}
	if len(unknown) > 0 {
		return fmt.Errorf("baton: SetConfigWithMap: %s", strings.Join(unknown, "; "))
	}
	c := s.Config()
	sf.apply(&c)
	return s.SetConfig(c)
}

// mapError words a *ConfigError of SetConfigWithMap without the file and
// line a map does not have.
func mapError(err error) error {
	var ce *ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	key := strings.TrimPrefix(ce.Key, "server.")
	if key == "" || key == "server" {
		return fmt.Errorf("baton: SetConfigWithMap: %s", ce.Msg)
	}
	return fmt.Errorf("baton: SetConfigWithMap: %s: %s", key, ce.Msg)
}
