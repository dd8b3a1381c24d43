//go:build windows

package main

import (
	"fmt"
	"strings"
	"testing"
)

// The event log gets the end of what serve wrote, where its error is,
// however much it logged before.
func TestTailWriter(t *testing.T) {
	var tw tailWriter
	for i := range 10000 {
		fmt.Fprintf(&tw, "level=INFO msg=line%d\n", i)
	}
	fmt.Fprintln(&tw, "fakesmtp: cannot listen on 127.0.0.1:2525: address in use")
	got := tw.String()
	if len(got) != tailSize || !strings.HasSuffix(got, "address in use\n") {
		t.Errorf("kept %d bytes ending %q", len(got), got[max(0, len(got)-60):])
	}
}
