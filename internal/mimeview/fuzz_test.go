package mimeview

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// slowInput is how long one fuzz input may take before it counts as a
// hang.
const slowInput = 20 * time.Second

// FuzzParse feeds Parse anything: it must not panic (a recovered panic
// shows as an "internal error" problem, which fails the test) and every
// part it lists must be fetchable by PartContent, as the same Part with
// Size bytes. Small caps make the limit paths reachable.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.eml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		f.Add(readFile(f, filepath.Base(file)))
	}
	for _, tc := range edgeCases {
		f.Add([]byte(tc.raw))
	}
	for _, tc := range hostile {
		f.Add([]byte(tc.raw))
	}
	opt := Options{MaxParts: 64, MaxDepth: 8, MaxTextBytes: 4096, MaxHeaderFields: 64}
	f.Fuzz(func(t *testing.T, raw []byte) {
		// A hang would otherwise stall a worker without a report; a panic
		// in another goroutine kills the worker, and the fuzzer saves the
		// input. Inputs take milliseconds: the margin is for loaded CI.
		watchdog := time.AfterFunc(slowInput, func() { panic(fmt.Sprintf("Parse took over %v on %q", slowInput, raw)) })
		defer watchdog.Stop()
		checkConsistent(t, raw, Parse(raw, opt), opt)
	})
}
