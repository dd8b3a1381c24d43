package config

import (
	"strings"
)

// EnvPrefix starts every environment variable Load reads: FAKESMTP_ plus the
// key upper-cased, e.g. FAKESMTP_MAX_SMTP_ERRORS.
const EnvPrefix = "FAKESMTP_"

// EnvName returns the environment variable for a key name.
func EnvName(key string) string { return EnvPrefix + strings.ToUpper(key) }

// fromEnv parses the FAKESMTP_* variables of env ("K=V" entries). Lists are
// comma-separated. A variable set to "" sets the key to its empty value
// rather than being ignored, so the environment can clear a file's value.
//
// An unknown FAKESMTP_ variable is a problem only when it looks like a typo
// of a key: other tools (test harnesses, wrappers) may share the prefix, and
// failing on those would make the prefix unusable for them.
func fromEnv(env []string) ([]assignment, Problems) {
	var out []assignment
	var probs Problems
	seen := map[string]bool{}
	for _, kv := range env {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		// Like os.Getenv, the first of duplicate entries wins.
		if seen[name] {
			continue
		}
		seen[name] = true
		where := "env " + name
		rest := name[len(EnvPrefix):]
		k := lookupKey(rest)
		if k == nil {
			if s := suggest(strings.ToLower(rest), keyNames()); s != "" {
				probs.add("%s: unknown variable (did you mean %s?)", where, EnvName(s))
			}
			continue
		}
		v, err := k.parseText(value)
		if err != nil {
			probs.add("%s: %v", where, err)
			continue
		}
		out = append(out, assignment{key: k, value: v, src: SourceEnv, where: where})
	}
	return out, probs
}
