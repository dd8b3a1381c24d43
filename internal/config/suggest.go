package config

import (
	"fmt"
	"strings"
)

// didYouMean returns ` (did you mean "x"?)` for the candidate closest to
// name, or "" when none is close enough to be a plausible typo.
func didYouMean(name string, candidates []string) string {
	if s := suggest(name, candidates); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

// suggest returns the candidate name most likely meant. A match that differs
// only in case, dashes or underscores ("MaxSmtpErrors", "max-smtp-errors")
// wins outright; otherwise the nearest by edit distance, if the distance is
// small for the name's length.
func suggest(name string, candidates []string) string {
	squashed := squash(name)
	for _, c := range candidates {
		if squash(c) == squashed {
			return c
		}
	}
	best, bestDist := "", -1
	norm := normalizeKey(name)
	for _, c := range candidates {
		d := editDistance(norm, normalizeKey(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	// Up to a third of the name may be wrong, and never more than 3
	// edits: beyond that the suggestion is noise.
	if bestDist >= 0 && bestDist <= 3 && bestDist*3 <= len(name) {
		return best
	}
	return ""
}

// squash drops case, dashes and underscores.
func squash(s string) string {
	return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(s))
}

// editDistance is the Levenshtein distance between a and b, in bytes (keys
// are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// suggestKey suggests a snake_case key for an unknown name, also mapping
// the original's CamelCase names (ListenPort → listen).
func suggestKey(name string) string {
	if k := legacyKey(name); k != nil {
		return fmt.Sprintf(" (did you mean %q?)", k.Name)
	}
	return didYouMean(name, keyNames())
}
