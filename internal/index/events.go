package index

import "sync"

// EventKind says what changed in the index.
type EventKind int

// The kinds of Event.
const (
	// EventPut: Message was indexed, new or re-read from its file. A
	// message may be announced twice (a queued file that a reconcile
	// indexed first); treat it as an upsert.
	EventPut EventKind = iota + 1
	// EventDelete: the entries of IDs were removed.
	EventDelete
	// EventDeleteAll: the index was emptied; IDs were in it.
	EventDeleteAll
	// EventUpdate: the read mark or tags of IDs changed; fetch them again.
	EventUpdate
)

// String names the kind, as a Server-Sent Events "event:" field would.
func (k EventKind) String() string {
	switch k {
	case EventPut:
		return "put"
	case EventDelete:
		return "delete"
	case EventDeleteAll:
		return "delete-all"
	case EventUpdate:
		return "update"
	}
	return "unknown"
}

// Event is one committed change of the index.
type Event struct {
	Kind EventKind
	// Message is the entry as stored (without Text), for EventPut.
	Message Message
	// IDs are the messages concerned.
	IDs []string
}

// defaultEventBuffer is each subscriber's queue: a burst of a few hundred
// messages (one indexing batch) passes without loss to a subscriber that
// keeps up on average.
const defaultEventBuffer = 512

// Broker hands every published event (the index's Event, or a
// caller's own type) to each subscriber. Publish never
// waits: a subscriber whose buffer is full is dropped (its channel is
// closed), because the alternative, holding up indexing for one stalled
// browser tab, is worse. A dropped web client reconnects and reloads the
// list, which is what it has to do after missing events anyway.
type Broker[E any] struct {
	buffer int
	mu     sync.Mutex
	subs   map[chan E]struct{}
	closed bool
}

// NewBroker returns a Broker with buffer events of room per subscriber.
func NewBroker[E any](buffer int) *Broker[E] {
	if buffer < 1 {
		buffer = 1
	}
	return &Broker[E]{buffer: buffer, subs: map[chan E]struct{}{}}
}

// Subscribe returns a channel of the events published from now on, and
// a function that ends the subscription and closes the channel. The
// function may be called more than once. The channel is also closed when
// the subscriber falls behind by more than the buffer, or the index is
// closed: a receiver must treat a closed channel as "resynchronise".
func (b *Broker[E]) Subscribe() (<-chan E, func()) {
	ch := make(chan E, b.buffer)
	b.mu.Lock()
	if b.closed {
		close(ch)
	} else {
		b.subs[ch] = struct{}{}
	}
	b.mu.Unlock()
	return ch, func() { b.drop(ch) }
}

// Publish delivers e to every subscriber that has room and drops the
// others.
func (b *Broker[E]) Publish(e E) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- e:
		default:
			delete(b.subs, ch)
			close(ch)
		}
	}
}

// Subscribers returns the number of live subscriptions.
func (b *Broker[E]) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

func (b *Broker[E]) drop(ch chan E) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[ch]; ok {
		delete(b.subs, ch)
		close(ch)
	}
}

// Close ends every subscription; later subscriptions start closed.
func (b *Broker[E]) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		delete(b.subs, ch)
		close(ch)
	}
	b.closed = true
}
