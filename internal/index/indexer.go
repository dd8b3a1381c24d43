package index

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fakesmtp/internal/id"
	"fakesmtp/internal/mimeview"
	"fakesmtp/internal/store"
)

// Indexer keeps the index in step with the store folder. The SMTP
// session calls Enqueue after its 250 and never waits for the index;
// Run does the reading, parsing and writing in the background, in
// batches.
type Indexer struct {
	ix     *Index
	dir    string
	logger *slog.Logger

	// Share, when between 0 and 1 and set before Run starts, is the
	// most of one CPU Run and Reconcile take during a flood (messages
	// arriving at floodRate or more): after each batch they pause in
	// proportion to the batch's time. The index then lags behind and
	// catches up at full speed once the flood is over, instead of
	// taking CPU from the SMTP sessions (intake first; the files are
	// complete either way). Below that rate the index keeps up in real
	// time. 0 or 1 = no pause.
	Share float64

	// OnIndexed, when set before Run starts, is called with each message
	// after it is committed to the index, on the indexing goroutine: it
	// must return quickly. Index.Subscribe offers the same as a channel;
	// which of the two hears of a message first is not defined.
	OnIndexed func(Message)

	queue chan op
	wake  chan struct{}
	// arrivals counts the messages enqueued, queued or not; flood
	// measures their rate (flooded).
	arrivals atomic.Uint64
	flood    rateMeter
	// dirty says that a change may have been lost (the queue was full):
	// Run reconciles the whole folder when it sees it.
	dirty atomic.Bool
	// mu serialises batches and reconciles, so Reconcile may be called
	// while Run runs.
	mu sync.Mutex

	// betweenReads, when set (tests), runs in Reconcile between its read
	// of the index and its listing of the folder: where another
	// process's indexer can slip in.
	betweenReads func()
	// list, when set (tests), replaces listMessageFiles: a listing that
	// misses a file, as one taken while a compaction swaps its forms may.
	list func(dir string) ([]string, error)
}

// op is one queued change: a file to (re)index or an entry to remove.
type op struct {
	id     string
	remove bool
}

const (
	// queueSize is how many changes wait for Run before Enqueue gives up
	// and marks the index dirty: a few seconds of peak intake.
	queueSize = 4096
	// batchSize is how many changes go in one transaction: large
	// enough that the commit's cost is spread thin, small enough that
	// a message shows up in the UI within one batch's time.
	batchSize = 256
	// floodRate, in changes a second, is where Share starts to count:
	// a test suite's bursts and a trap's steady trickle stay below it
	// and are indexed as they come; an SMTP flood (thousands a second)
	// is above it.
	floodRate = 100
	// floodWindow is the shortest time flooded measures a rate over:
	// the throttle follows the intake within about that.
	floodWindow = time.Second
	// retryDelay is the pause before Run retries after the index failed
	// (disk full, a lock held elsewhere), so a lasting fault does not
	// spin.
	retryDelay = 5 * time.Second
)

// NewIndexer returns an Indexer of the message files in storePath.
func NewIndexer(ix *Index, storePath string, logger *slog.Logger) *Indexer {
	return &Indexer{
		ix:     ix,
		dir:    storePath,
		logger: logger,
		queue:  make(chan op, queueSize),
		wake:   make(chan struct{}, 1),
	}
}

// Enqueue asks for the message file with the given ID to be indexed. It
// never blocks: when the queue is full the index is marked dirty, and
// Run reconciles the folder instead.
func (x *Indexer) Enqueue(msgID string) {
	x.arrivals.Add(1)
	x.send(op{id: msgID})
}

// Removed tells the indexer that these message files were deleted (by
// retention pruning), without blocking.
func (x *Indexer) Removed(ids ...string) {
	for _, i := range ids {
		x.send(op{id: i, remove: true})
	}
}

func (x *Indexer) send(o op) {
	select {
	case x.queue <- o:
	default:
		x.dirty.Store(true)
		select {
		case x.wake <- struct{}{}:
		default:
		}
	}
}

// Subscribe is Index.Subscribe of the indexer's index.
func (x *Indexer) Subscribe() (<-chan Event, func()) { return x.ix.Subscribe() }

// Run indexes queued changes until ctx ends, then returns nil. It first
// reconciles the folder with the index, which is how messages received
// while no indexer ran (a crash, an old index) get in. Failures are
// logged and retried; they do not stop Run.
func (x *Indexer) Run(ctx context.Context) error {
	x.dirty.Store(true)
	var retry <-chan time.Time
	for {
		if x.dirty.Swap(false) {
			if _, _, err := x.Reconcile(ctx, false); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				x.logger.Error("index reconcile failed; will retry", "err", err, "retry_in", retryDelay)
				x.dirty.Store(true)
				retry = time.After(retryDelay)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case o := <-x.queue:
			// Whatever queued up while the last batch committed goes in
			// this one: batches grow with the load.
			batch := x.drain([]op{o})
			began := time.Now()
			err := x.apply(ctx, batch)
			if x.flooded(time.Now()) {
				x.pause(ctx, time.Since(began))
			}
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				// The changes are lost from the queue; the files are
				// not, and a reconcile finds them.
				x.logger.Error("indexing failed; will reconcile", "err", err, "messages", len(batch), "retry_in", retryDelay)
				retry = time.After(retryDelay)
			}
		case <-x.wake:
		case <-retry:
			retry = nil
			x.dirty.Store(true)
		}
	}
}

// flooded reports whether messages are arriving at floodRate or more,
// as measured over the last complete floodWindow (see rateMeter). It is
// the arrival rate and not the backlog that tells: an indexer that runs
// unpaused takes enough CPU from the sessions to keep up with the
// intake it slows down.
func (x *Indexer) flooded(now time.Time) bool {
	return x.flood.rate(now, x.arrivals.Load()) >= floodRate
}

// rateMeter turns readings of a counter into its rate over windows of
// floodWindow or longer. It is read after each batch, so a window ends
// at the first reading after floodWindow: after an idle spell one long
// window, which measures the idle rate, as it should.
type rateMeter struct {
	mu    sync.Mutex
	start time.Time // of the current window; zero before the first reading
	n0    uint64    // the count at start
	last  float64   // per second, over the last complete window
}

// rate records the reading n at now and returns the rate of the last
// complete window.
func (m *rateMeter) rate(now time.Time, n uint64) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.start.IsZero() {
		m.start, m.n0 = now, n
		return 0
	}
	if d := now.Sub(m.start); d >= floodWindow {
		m.last = float64(n-m.n0) / d.Seconds()
		m.start, m.n0 = now, n
	}
	return m.last
}

// pause waits after a batch that took busy, so that Run takes at most
// Share of a CPU (see Share).
func (x *Indexer) pause(ctx context.Context, busy time.Duration) {
	if x.Share <= 0 || x.Share >= 1 {
		return
	}
	t := time.NewTimer(time.Duration(float64(busy) * (1 - x.Share) / x.Share))
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// apply indexes one batch of queued changes in one transaction. The
// last change of an ID wins; a file that is gone counts as removed.
func (x *Indexer) apply(ctx context.Context, batch []op) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.applyLocked(ctx, batch)
}

// applyQueued indexes, in one batch, the changes queued so far (at most
// batchSize of them). Reconcile calls it between its own batches, so that
// a long reconcile (the first start on a large store, the refill after a
// schema upgrade, `fakesmtp reindex`) does not keep new mail out of the
// index and the UI until it ends. x.mu is held.
func (x *Indexer) applyQueued(ctx context.Context) error {
	batch := x.drain(nil)
	if len(batch) == 0 {
		return nil
	}
	return x.applyLocked(ctx, batch)
}

// drain appends to batch the changes queued now, without waiting, up to
// batchSize in all.
func (x *Indexer) drain(batch []op) []op {
	for len(batch) < batchSize {
		select {
		case o := <-x.queue:
			batch = append(batch, o)
		default:
			return batch
		}
	}
	return batch
}

// applyLocked is apply with x.mu held.
func (x *Indexer) applyLocked(ctx context.Context, batch []op) error {
	last := make(map[string]bool, len(batch)) // ID -> removed
	var order []string
	for _, o := range batch {
		if !id.Valid(o.id) {
			x.logger.Warn("not indexing an invalid message id", "id", o.id)
			continue
		}
		if _, seen := last[o.id]; !seen {
			order = append(order, o.id)
		}
		last[o.id] = o.remove
	}
	var add, del []string
	for _, i := range order {
		if last[i] {
			del = append(del, i)
		} else {
			add = append(add, i)
		}
	}
	_, _, err := x.index(ctx, add, del)
	return err
}

// index reads the files of add and commits them together with the
// removal of del; a file of add that is missing is removed too, one that
// cannot be read is logged and skipped. It returns the numbers of
// entries put and removed.
func (x *Indexer) index(ctx context.Context, add, del []string) (int, int, error) {
	puts := make([]Message, 0, len(add))
	for _, i := range add {
		// ReadID, not a look-up and then a read: a compaction between
		// the two would make a message that exists look deleted.
		var m Message
		data, path, err := store.ReadID(x.dir, i)
		if err == nil {
			if m, err = FromData(data); err != nil {
				err = fmt.Errorf("%s: %w", path, err)
			}
		}
		switch {
		case errors.Is(err, fs.ErrNotExist):
			del = append(del, i)
		case err != nil:
			x.logger.Warn("message file not indexed", "id", i, "err", err)
		default:
			if m.ID != i {
				// The file name is what the store goes by.
				x.logger.Warn("message file's ID header differs from its name", "file", i, "header", m.ID)
				m.ID = i
			}
			puts = append(puts, m)
		}
	}
	if len(puts) == 0 && len(del) == 0 {
		return 0, 0, nil
	}
	stored, gone, err := x.ix.commit(ctx, puts, del)
	if err != nil {
		return 0, 0, err
	}
	if x.OnIndexed != nil {
		for _, m := range stored {
			x.OnIndexed(m)
		}
	}
	return len(stored), len(gone), nil
}

// Reconcile makes the index match the folder: it indexes the files the
// index lacks and removes the entries whose file is gone. With full set
// it re-reads every file (`fakesmtp reindex`: after an upgrade changed
// what is extracted), keeping read marks and tags. It also re-reads the
// files whose words a schema upgrade dropped from the full-text index
// (see Index.staleText), the same way. It returns the number of files
// indexed and of entries removed.
func (x *Indexer) Reconcile(ctx context.Context, full bool) (added, removed int, err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	// The index first, then the folder: `fakesmtp reindex` runs beside a
	// server, whose indexer its x.mu does not hold back. A message that
	// arrives in between is then in the listing (and put again, which
	// keeps it as it is) rather than in the index only, which would look
	// like a file gone. Entries are still removed only once their file is
	// seen to be gone (see gone below).
	indexed, err := x.ix.IDs(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("index: reconcile: %w", err)
	}
	stale, err := x.ix.staleText(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("index: reconcile: %w", err)
	}
	if x.betweenReads != nil {
		x.betweenReads()
	}
	list := listMessageFiles
	if x.list != nil {
		list = x.list
	}
	files, err := list(x.dir)
	if err != nil {
		return 0, 0, fmt.Errorf("index: reconcile: %w", err)
	}
	have := make(map[string]bool, len(indexed))
	for _, i := range indexed {
		have[i] = true
	}
	refill := make(map[string]bool, len(stale))
	for _, i := range stale {
		refill[i] = true
	}
	if len(stale) > 0 {
		x.logger.Info("refilling the full-text index from the message files after a schema upgrade; "+
			"until it is done, searches on words, from:, to: and subject: leave those messages out", "messages", len(stale))
	}
	var add, del []string
	for _, f := range files {
		// A stale entry is put again: the update path keeps its
		// seq, read mark and tags and inserts its words.
		if full || !have[f] || refill[f] {
			add = append(add, f)
		}
		delete(have, f)
	}
	for i := range have {
		// Not in the listing; but a file compacted while the folder was
		// read may have been missed between its two forms.
		if gone(x.dir, i) {
			del = append(del, i)
		}
	}
	sort.Strings(del)
	for len(add) > 0 || len(del) > 0 {
		a, d := add[:min(batchSize, len(add))], del[:min(batchSize, len(del))]
		add, del = add[len(a):], del[len(d):]
		began := time.Now()
		na, nd, err := x.index(ctx, a, d)
		added, removed = added+na, removed+nd
		if err != nil {
			return added, removed, fmt.Errorf("index: reconcile: %w", err)
		}
		if done := inSet(refill, a, d); len(done) > 0 {
			// As it goes, so that a restart goes on from here.
			if err := x.ix.clearStaleText(ctx, done); err != nil {
				return added, removed, fmt.Errorf("index: reconcile: %w", err)
			}
		}
		// Live mail first: a change queued now is newer than this
		// listing, and the reconcile that follows may put it again
		// (an update, which keeps it as it is).
		if err := x.applyQueued(ctx); err != nil {
			return added, removed, fmt.Errorf("index: reconcile: %w", err)
		}
		if len(add)+len(del) > 0 && x.flooded(time.Now()) {
			x.pause(ctx, time.Since(began))
		}
	}
	if len(stale) > 0 {
		// Each batch took its own IDs off the list; what is left is
		// in neither the folder nor the index. A stale ID whose file
		// could not be read was dropped with its batch: it was
		// logged, and `fakesmtp reindex` tries every file again.
		if err := x.ix.clearStaleText(ctx, stale); err != nil {
			return added, removed, fmt.Errorf("index: reconcile: %w", err)
		}
		x.logger.Info("full-text index refilled", "messages", len(stale))
	}
	if added > 0 || removed > 0 {
		x.logger.Info("index reconciled with the store", "indexed", added, "removed", removed, "full", full)
	}
	return added, removed, nil
}

// gone reports whether the store folder dir holds no file, in any form,
// for msgID.
func gone(dir, msgID string) bool {
	_, err := store.LocateIn(dir, msgID)
	return errors.Is(err, fs.ErrNotExist)
}

// inSet returns the elements of the lists that are in set.
func inSet(set map[string]bool, lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		for _, v := range l {
			if set[v] {
				out = append(out, v)
			}
		}
	}
	return out
}

// listMessageFiles lists the message IDs in dir by the rule of
// store.Store.List. It does not call it: a Store comes from store.New,
// which clears the folder's .tmp, where a running server keeps the
// messages it is receiving.
func listMessageFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if i := store.MessageID(e.Name()); i != "" && e.Type().IsRegular() {
			// A plain file and its compact form may both be there for
			// a moment; they sort next to each other.
			if n := len(ids); n > 0 && ids[n-1] == i {
				continue
			}
			ids = append(ids, i)
		}
	}
	return ids, nil
}

// FromFile builds the index entry of a message file: the envelope and
// annotations from the X-FakeSMTP-* headers, the rest from the message
// as the client sent it.
func FromFile(path string) (Message, error) {
	env, raw, err := store.ReadFile(path)
	if err != nil {
		return Message{}, err
	}
	return fromEnvelope(env, raw), nil
}

// FromData is FromFile of a message file already read (its plain form,
// as store.ReadID returns it).
func FromData(data []byte) (Message, error) {
	env, raw, err := store.Read(data)
	if err != nil {
		return Message{}, err
	}
	return fromEnvelope(env, raw), nil
}

// fromEnvelope builds the entry of a parsed message file.
func fromEnvelope(env *store.Envelope, raw []byte) Message {
	m := Message{
		ID:         env.ID,
		Session:    env.Session,
		ReceivedAt: env.ReceivedAt,
		ClientPort: int(env.ClientPort),
		Helo:       env.Helo,
		MailFrom:   env.MailFrom,
		RcptTo:     env.RcptTo,
		Size:       int64(len(raw)),
	}
	if env.ClientIP.IsValid() {
		m.ClientIP = env.ClientIP.Unmap().String()
	}
	m.Verdicts, m.Findings = annotations(env.Extra)
	v := mimeview.Parse(raw, mimeview.Options{MaxTextBytes: MaxText})
	m.Subject = v.Subject
	m.Date = v.Date
	m.MessageID = v.MessageID
	m.Attachments = v.Attachments
	m.From, m.To, m.Cc = addresses(v.From), addresses(v.To), addresses(v.Cc)
	m.Text = v.Text
	if m.Text == "" && v.HTML != "" {
		m.Text = htmlText(v.HTML)
	}
	m.Text = truncateUTF8(m.Text, MaxText)
	return m
}

// addresses formats header addresses as "Display Name <addr>" or addr.
func addresses(as []mimeview.Address) []string {
	var out []string
	for _, a := range as {
		switch {
		case a.Name != "" && a.Addr != "":
			out = append(out, a.Name+" <"+a.Addr+">")
		case a.Addr != "":
			out = append(out, a.Addr)
		case a.Name != "":
			out = append(out, a.Name)
		}
	}
	return out
}

// annotations turns the annotation headers of a message file into
// verdicts and finding codes. Each header's value format is the one the
// SMTP session writes (internal/smtpd, internal/policy/dnsbl).
func annotations(extra []string) (verdicts, findings []string) {
	for _, line := range extra {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		name = strings.ToLower(strings.TrimSpace(name))
		switch {
		case name == "x-fakesmtp-finding":
			// "code: text (RFC)", see diagnose.Finding.String.
			code, _, _ := strings.Cut(value, ":")
			if code = strings.TrimSpace(code); code != "" && !strings.ContainsAny(code, " \t") {
				findings = append(findings, code)
			}
		case name == "x-fakesmtp-dnsbl":
			// "zone=answer", see dnsbl.Hit.String.
			zone, _, _ := strings.Cut(value, "=")
			verdicts = append(verdicts, "dnsbl:"+strings.TrimSpace(zone))
		case name == "x-fakesmtp-trap":
			// "reason <rcpt>", the reason being one of traps.Reason*:
			// "trap mailbox <a@b>" becomes trap:mailbox, "unknown
			// domain <a@b>" trap:unknown-domain.
			reason := value
			if i := strings.LastIndex(value, "<"); i >= 0 {
				reason = value[:i]
			}
			reason = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(reason)), "trap ")
			v := "trap"
			if reason = strings.Join(strings.Fields(reason), "-"); reason != "" {
				v += ":" + reason
			}
			verdicts = append(verdicts, v)
		case name == "x-fakesmtp-tls":
			verdicts = append(verdicts, "tls")
		case name == "x-fakesmtp-auth-user":
			verdicts = append(verdicts, "auth")
		case strings.HasPrefix(name, "x-fakesmtp-dsn-"):
			verdicts = append(verdicts, "dsn")
		case name == "x-fakesmtp-verdict":
			// A generic annotation ("temp-fail", ...) for features that
			// have no header of their own.
			if value != "" {
				verdicts = append(verdicts, value)
			}
		}
	}
	return cleanLabels(verdicts), cleanLabels(findings)
}
