package greylist_test

import (
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"fakesmtp/internal/policy/greylist"
)

// A session asks at each RCPT, after its own allowlist checks, and turns
// a refusal into 451 4.7.1.
func Example() {
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	l, err := greylist.New(greylist.Config{}, func() time.Time { return now }, slog.New(slog.DiscardHandler))
	if err != nil {
		panic(err)
	}
	defer l.Close()
	t := greylist.Triplet{
		Client:    netip.MustParseAddr("192.0.2.10"),
		Sender:    "alice@example.org",
		Recipient: "bob@example.net",
	}
	fmt.Printf("%+v\n", l.Check(t))
	now = now.Add(2 * time.Minute)
	fmt.Printf("%+v\n", l.Check(t))
	now = now.Add(3 * time.Minute)
	t.Client = netip.MustParseAddr("192.0.2.77") // same /24
	fmt.Printf("%+v\n", l.Check(t))
	// Output:
	// {Pass:false New:true Wait:5m0s}
	// {Pass:false New:false Wait:3m0s}
	// {Pass:true New:false Wait:0s}
}
