package config

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// utf8BOM is stripped from files: Windows editors add it, and the legacy
// .exe.config files were written by Visual Studio.
const utf8BOM = "\xEF\xBB\xBF"

// loadFile reads the configuration file. Content starting with "<" is the
// C# original's XML; anything else is TOML.
func loadFile(path string) ([]assignment, Problems) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Problems{fmt.Sprintf("config file: %v", err)}
	}
	data = bytes.TrimPrefix(data, []byte(utf8BOM))
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("<")) {
		return parseLegacy(path, data)
	}
	return parseTOML(path, data)
}

// parseTOML reads a flat TOML file of snake_case keys.
func parseTOML(path string, data []byte) ([]assignment, Problems) {
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, Problems{fmt.Sprintf("%s:%d: toml: %s", path, pe.Position.Line, pe.Message)}
		}
		return nil, Problems{fmt.Sprintf("%s: toml: %v", path, err)}
	}

	lines := keyLines(data)
	// A map has no order; report in file order so problems read top down.
	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		li, lj := lines[names[i]], lines[names[j]]
		if li != lj {
			return li < lj
		}
		return names[i] < names[j]
	})

	var out []assignment
	var probs Problems
	for _, name := range names {
		where := path
		if n := lines[name]; n > 0 {
			where = fmt.Sprintf("%s:%d", path, n)
		}
		k := lookupTOMLKey(name)
		if k == nil {
			probs.add("%s: unknown key %q%s", where, name, suggestKey(name))
			continue
		}
		v, err := k.parseTOML(raw[name])
		if err != nil {
			probs.add("%s: %s: %v", where, name, err)
			continue
		}
		out = append(out, assignment{key: k, value: v, src: SourceFile, where: where})
	}
	return out, probs
}

// lookupTOMLKey finds a key by its exact snake_case name: TOML keys are
// case-sensitive, and accepting other spellings would make two files that
// look different mean the same thing.
func lookupTOMLKey(name string) *keyDef {
	for i := range keyDefs {
		if keyDefs[i].Name == name {
			return &keyDefs[i]
		}
	}
	return nil
}

// parseTOML converts a decoded TOML value to the key's Go type.
func (k *keyDef) parseTOML(v any) (any, error) {
	switch k.Kind {
	case KindString, KindPath:
		if s, ok := v.(string); ok {
			return s, nil
		}
		return nil, wantGot("a string", v)
	case KindMode:
		if s, ok := v.(string); ok {
			return parseMode(s)
		}
		return nil, wantGot("a mode string", v)
	case KindBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, wantGot("true or false", v)
	case KindInt:
		n, ok := v.(int64)
		if !ok {
			return nil, wantGot("an integer", v)
		}
		return n, k.checkInt(n)
	case KindDuration:
		switch v := v.(type) {
		case string:
			return parseDuration(v)
		case int64:
			return nil, fmt.Errorf("want a duration string, got the number %d (write %s = \"%ds\")", v, k.Name, v)
		}
		return nil, wantGot("a duration string such as \"8s\"", v)
	case KindList:
		switch v := v.(type) {
		case string:
			return splitList(v), nil
		case []any:
			out := make([]string, 0, len(v))
			for i, e := range v {
				s, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("element %d: %w", i, wantGot("a string", e))
				}
				out = append(out, strings.TrimSpace(s))
			}
			return out, nil
		}
		return nil, wantGot("a string or an array of strings", v)
	}
	panic("config: key " + k.Name + ": unhandled kind " + string(k.Kind))
}

// wantGot describes a TOML type mismatch.
func wantGot(want string, v any) error {
	return fmt.Errorf("want %s, got %s", want, describeTOML(v))
}

// describeTOML names a decoded value's TOML type, with the value if short.
func describeTOML(v any) string {
	switch v := v.(type) {
	case string:
		return "string " + strconv.Quote(v)
	case int64:
		return "integer " + strconv.FormatInt(v, 10)
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return "float"
		}
		return "float " + strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return "boolean " + strconv.FormatBool(v)
	case []any:
		return "array"
	case map[string]any:
		return "table"
	case time.Time:
		return "datetime"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// keyLines finds the line of each top-level key or table in a TOML file,
// since the decoder does not export positions. It is a best-effort scan for
// "name =" and "[name]" at the start of a line; a key it misses is reported
// with the file name only.
func keyLines(data []byte) map[string]int {
	lines := map[string]int{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		var name string
		switch {
		case strings.HasPrefix(line, "["):
			name = strings.Trim(line, "[] \t")
			if end := strings.IndexAny(name, "]#"); end >= 0 {
				name = strings.TrimSpace(name[:end])
			}
		case strings.Contains(line, "=") && !strings.HasPrefix(line, "#"):
			name = strings.TrimSpace(line[:strings.Index(line, "=")])
		default:
			continue
		}
		// Dotted keys and tables ("a.b") belong to their first part.
		if dot := strings.Index(name, "."); dot >= 0 && !strings.HasPrefix(name, `"`) {
			name = name[:dot]
		}
		name = strings.Trim(name, `"' `)
		if _, seen := lines[name]; !seen && name != "" {
			lines[name] = i + 1
		}
	}
	return lines
}
