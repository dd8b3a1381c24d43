package index

import (
	"context"
	"reflect"
	"testing"
	"time"
)

// next returns the next event or fails after a generous bound (a guard
// against a hang, not a synchronisation).
func next(t *testing.T, ch <-chan Event) Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("event channel closed")
		}
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
	}
	return Event{}
}

func TestIndexPublishesCommittedChanges(t *testing.T) {
	ctx := context.Background()
	ix := newIndex(t)
	ch, stop := ix.Subscribe()
	defer stop()
	m := corpus()["news"]
	if err := ix.Put(ctx, m); err != nil {
		t.Fatal(err)
	}
	e := next(t, ch)
	if e.Kind != EventPut || e.Message.ID != m.ID || e.Message.Text != "" ||
		!reflect.DeepEqual(e.Message.Tags, []string{"important"}) {
		t.Errorf("put event = %+v", e)
	}
	if _, err := ix.SetRead(ctx, true, m.ID); err != nil {
		t.Fatal(err)
	}
	if e := next(t, ch); e.Kind != EventUpdate || !reflect.DeepEqual(e.IDs, []string{m.ID}) {
		t.Errorf("read event = %+v", e)
	}
	// A no-op change publishes nothing: the next event is the delete.
	ix.SetRead(ctx, true, m.ID) // no change: no event
	if err := ix.Delete(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if e := next(t, ch); e.Kind != EventDelete || !reflect.DeepEqual(e.IDs, []string{m.ID}) {
		t.Errorf("delete event = %+v", e)
	}
	// A rolled-back change publishes nothing either.
	if err := ix.PutMany(ctx, []Message{corpus()["plain"], {ID: "bad"}}); err == nil {
		t.Fatal("invalid batch accepted")
	}
	select {
	case e := <-ch:
		t.Errorf("event of a failed put: %+v", e)
	default:
	}
}

func TestBrokerDropsSlowSubscribers(t *testing.T) {
	b := NewBroker[Event](2)
	slow, stopSlow := b.Subscribe()
	fast, stopFast := b.Subscribe()
	defer stopFast()
	for i := range 5 {
		b.Publish(Event{Kind: EventUpdate, IDs: []string{string(rune('a' + i))}})
		<-fast // keeps up
	}
	// slow got the first two, then was dropped: the channel holds them
	// and is closed.
	var got []string
	for e := range slow {
		got = append(got, e.IDs[0])
	}
	if !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("slow subscriber got %v, want [a b] then close", got)
	}
	if n := b.Subscribers(); n != 1 {
		t.Errorf("%d subscribers, want 1", n)
	}
	stopSlow() // after the drop: harmless
	stopFast()
	stopFast()
	if n := b.Subscribers(); n != 0 {
		t.Errorf("%d subscribers after stop, want 0", n)
	}
}

func TestCloseEndsSubscriptions(t *testing.T) {
	ix := newIndex(t)
	ch, stop := ix.Subscribe()
	defer stop()
	ix.events.Close()
	if _, ok := <-ch; ok {
		t.Error("channel open after close")
	}
	late, _ := ix.Subscribe()
	if _, ok := <-late; ok {
		t.Error("subscription after close is open")
	}
	ix.events.Publish(Event{Kind: EventUpdate}) // no subscribers, no panic
}
