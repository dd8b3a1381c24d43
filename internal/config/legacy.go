package config

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// The C# original read its settings from FakeSMTP.exe.config, the .NET
// application configuration file:
//
//	<configuration>
//	  <appSettings>
//	    <add key="ListenPort" value="25"/>
//	  </appSettings>
//	</configuration>
//
// Loading it lets a deployment switch binaries without rewriting its
// configuration. Its conventions differ from ours: delays and timeouts are
// milliseconds, booleans are "True"/"False", lists are comma-separated, and
// the listen address and port are two keys.

// Legacy names that do not map one to one onto a key.
const (
	legacyListenAddress = "listenaddress"
	legacyListenPort    = "listenport"
	// legacyDefaultPort is the original's ListenPort default, used when a
	// file gives ListenAddress alone.
	legacyDefaultPort = "25"
)

// legacyKey finds the key a legacy name (any case) maps to; ListenAddress
// and ListenPort both map to listen.
func legacyKey(name string) *keyDef {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == legacyListenAddress || name == legacyListenPort {
		return lookupKey(keyListen)
	}
	for i := range keyDefs {
		if keyDefs[i].Legacy != "" && strings.ToLower(keyDefs[i].Legacy) == name {
			return &keyDefs[i]
		}
	}
	return nil
}

// legacyNames lists the original's key names, for suggestions.
func legacyNames() []string {
	names := []string{"ListenAddress", "ListenPort"}
	for _, k := range keyDefs {
		if k.Legacy != "" && k.Name != keyListen {
			names = append(names, k.Legacy)
		}
	}
	return names
}

// legacySetting is one <add key value/> element and its line.
type legacySetting struct {
	key, value string
	line       int
}

// parseLegacy reads a FakeSMTP.exe.config file. Keys match in any case,
// like .NET's AppSettings; an empty value leaves the default in place, as the
// original treated a missing or empty setting.
func parseLegacy(path string, data []byte) ([]assignment, Problems) {
	settings, err := readAppSettings(data)
	if err != nil {
		return nil, Problems{fmt.Sprintf("%s: %v", path, err)}
	}

	var out []assignment
	var probs Problems
	var addr, port *legacySetting
	for i := range settings {
		s := &settings[i]
		where := fmt.Sprintf("%s:%d", path, s.line)
		switch strings.ToLower(strings.TrimSpace(s.key)) {
		case legacyListenAddress:
			addr = s
			continue
		case legacyListenPort:
			port = s
			continue
		}
		k := legacyKey(s.key)
		if k == nil {
			probs.add("%s: unknown key %q%s", where, s.key, didYouMean(s.key, legacyNames()))
			continue
		}
		if strings.TrimSpace(s.value) == "" {
			continue
		}
		v, err := k.parseLegacyValue(s.value)
		if err != nil {
			probs.add("%s: %s: %v", where, s.key, err)
			continue
		}
		out = append(out, assignment{key: k, value: v, src: SourceFile, where: where})
	}

	if addr != nil || port != nil {
		a, err := legacyListen(path, addr, port)
		if err != nil {
			probs = append(probs, err.Error())
		} else {
			out = append(out, a)
		}
	}
	return out, probs
}

// readAppSettings returns the <add> elements of
// <configuration><appSettings>, in file order, with their line numbers.
func readAppSettings(data []byte) ([]legacySetting, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	var out []legacySetting
	var stack []string
	sawRoot := false
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("xml: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 && t.Name.Local != "configuration" {
				return nil, fmt.Errorf("xml: root element is <%s>, want <configuration>", t.Name.Local)
			}
			sawRoot = true
			stack = append(stack, t.Name.Local)
			if len(stack) == 3 && stack[1] == "appSettings" && t.Name.Local == "add" {
				line, _ := d.InputPos()
				s := legacySetting{line: line}
				for _, a := range t.Attr {
					switch a.Name.Local {
					case "key":
						s.key = a.Value
					case "value":
						s.value = a.Value
					}
				}
				out = append(out, s)
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if !sawRoot {
		return nil, errors.New("xml: no <configuration> element")
	}
	return out, nil
}

// parseLegacyValue converts a legacy value to the key's Go type.
func (k *keyDef) parseLegacyValue(s string) (any, error) {
	s = strings.TrimSpace(s)
	switch k.Kind {
	case KindDuration:
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("want milliseconds, got %q", s)
		}
		return time.Duration(ms) * time.Millisecond, nil
	case KindBool:
		switch {
		case strings.EqualFold(s, "true"):
			return true, nil
		case strings.EqualFold(s, "false"):
			return false, nil
		}
		return nil, fmt.Errorf("want True or False, got %q", s)
	}
	return k.parseText(s)
}

// legacyListen joins ListenAddress and ListenPort into one listen entry.
// A missing ListenPort is the original's default 25; a missing or "any"
// ListenAddress is every interface.
func legacyListen(path string, addr, port *legacySetting) (assignment, error) {
	host, p := "", legacyDefaultPort
	where := path
	if addr != nil {
		host = strings.TrimSpace(addr.value)
		where = fmt.Sprintf("%s:%d", path, addr.line)
	}
	if port != nil {
		if v := strings.TrimSpace(port.value); v != "" {
			p = v
		}
		where = fmt.Sprintf("%s:%d", path, port.line)
	}
	if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 65535 {
		return assignment{}, fmt.Errorf("%s: ListenPort: want a port number 0-65535, got %q", where, p)
	}
	switch strings.ToLower(host) {
	case "", "0.0.0.0", "*", "any":
		host = ""
	default:
		// JoinHostPort brackets an IPv6 address; take off any brackets the
		// file already had so they are not doubled.
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	return assignment{
		key:   lookupKey(keyListen),
		value: []string{net.JoinHostPort(host, p)},
		src:   SourceFile,
		where: where,
	}, nil
}
