package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"

	"fakesmtp/internal/id"
	"fakesmtp/internal/safeio"
)

// Storage economy for collectors, whose junk "may take up quite a bunch
// of storage space": a message file can be compressed (zstd) and its
// body deduplicated (stored once per content hash). Both happen after
// the 250, in the background, to files that have settled; the SMTP path
// always writes a plain <ID>.eml. Each step writes the new form whole,
// flushes it, renames it into place and only then removes the old form,
// so a crash leaves at least one complete copy (and ReadMessage prefers
// the older, plain one while both exist).
//
// The forms of a message file:
//
//	<ID>.eml      plain: X-FakeSMTP-* headers, Received, the message
//	<ID>.eml.zst  the plain file, zstd-compressed
//	<ID>.ref      the headers, an X-FakeSMTP-Body-Ref line, the Received
//	              line; the message itself is .bodies/<hh>/<sha256>[.zst]
const (
	ExtZstd   = ".eml.zst"
	ExtRef    = ".ref"
	bodiesDir = ".bodies"
	// HeaderBodyRef names the content-addressed body of a .ref file.
	HeaderBodyRef = "X-FakeSMTP-Body-Ref"
)

// forms are the extensions of a message file's forms, in the order a
// compaction makes them: plain first.
var forms = []string{Ext, ExtZstd, ExtRef}

// MessageID returns the message ID a file name in the store folder
// stands for, in any of its forms; "" for other files.
func MessageID(name string) string {
	for _, ext := range forms {
		if msgID, ok := strings.CutSuffix(name, ext); ok && id.Valid(msgID) {
			return msgID
		}
	}
	return ""
}

// Locate returns the path of the message file of msgID in whichever
// form it is (plain first), or an error wrapping os.ErrNotExist.
func (s *Store) Locate(msgID string) (string, error) { return LocateIn(s.cfg.Path, msgID) }

// LocateIn is Locate for the store folder root, for readers that do not
// own the Store (the indexer, the CLI).
func LocateIn(root, msgID string) (string, error) {
	if !id.Valid(msgID) {
		return "", fmt.Errorf("store: invalid message id %q: %w", msgID, os.ErrNotExist)
	}
	for _, ext := range forms {
		p := filepath.Join(root, msgID+ext)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("store: message %s: %w", msgID, os.ErrNotExist)
}

// ReadID returns the plain form of the message file of msgID (see
// ReadMessage) and the path it was read from, whichever form the file is
// in. It tries the forms in the order a compaction makes them (plain,
// then compressed or deduplicated) and goes on to the next when one is
// gone by the time it is read: a compaction puts the compact form in
// place before it removes the plain file, so a message that exists is
// always found, where a Locate followed by a read could miss it. The
// error wraps os.ErrNotExist only when no form exists.
func ReadID(root, msgID string) ([]byte, string, error) {
	if !id.Valid(msgID) {
		return nil, "", fmt.Errorf("store: invalid message id %q: %w", msgID, os.ErrNotExist)
	}
	for _, ext := range forms {
		p := filepath.Join(root, msgID+ext)
		data, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err == nil {
			data, err = decode(p, data)
		}
		if err != nil {
			return nil, p, fmt.Errorf("store: read %s: %w", p, err)
		}
		return data, p, nil
	}
	return nil, "", fmt.Errorf("store: message %s: %w", msgID, os.ErrNotExist)
}

// zstdMagic starts every zstd frame (RFC 8878 3.1.1).
var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// Compaction says what Compact does.
type Compaction struct {
	Compress bool          // zstd
	Dedup    bool          // one copy of each distinct message body
	MinAge   time.Duration // leave younger files alone (hooks, indexing, outputs read them)
}

// Enabled reports whether there is anything to do.
func (c Compaction) Enabled() bool { return c.Compress || c.Dedup }

// CompactResult counts one pass.
type CompactResult struct {
	Files       int   // message files compacted
	Shared      int   // bodies found already stored (deduplicated)
	BytesBefore int64 // of the files compacted
	BytesAfter  int64 // of their new forms (shared bodies not counted)
}

// Compact rewrites plain message files older than c.MinAge into their
// compact form. skip, when set, leaves an ID alone (a hook still
// pending). It stops early, without error, when stop is closed.
func (s *Store) Compact(c Compaction, now time.Time, skip func(id string) bool, stop <-chan struct{}) (CompactResult, error) {
	var res CompactResult
	if !c.Enabled() {
		return res, nil
	}
	entries, err := os.ReadDir(s.cfg.Path)
	if err != nil {
		return res, fmt.Errorf("store: compact: %w", err)
	}
	var enc *zstd.Encoder
	if c.Compress {
		if enc, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1)); err != nil {
			return res, err
		}
		defer enc.Close()
	}
	changed := false
	for _, e := range entries {
		select {
		case <-stop:
			return res, nil
		default:
		}
		msgID, ok := strings.CutSuffix(e.Name(), Ext)
		if !ok || !e.Type().IsRegular() || (skip != nil && skip(msgID)) {
			continue
		}
		plain := filepath.Join(s.cfg.Path, e.Name())
		if other := s.compactForm(msgID); other != "" {
			// A pass was cut short after the compact form was made
			// durable: the plain file is the extra copy.
			os.Remove(plain)
			changed = true
			continue
		}
		fi, err := e.Info()
		if err != nil || now.Sub(fi.ModTime()) < c.MinAge {
			continue
		}
		after, shared, err := s.compactOne(msgID, plain, c, enc, fi.ModTime())
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted or pruned meanwhile
		}
		if err != nil {
			return res, err
		}
		// A delete (Remove, pruning) that took the plain file while the
		// compact form was being written did not see that form: take it
		// back, or the deleted message would come back. A delete after
		// this check removes every form itself.
		if _, err := os.Lstat(plain); errors.Is(err, os.ErrNotExist) {
			if err := s.Remove(msgID); err != nil {
				return res, err
			}
			changed = true
			continue
		}
		os.Remove(plain)
		changed = true
		res.Files++
		res.BytesBefore += fi.Size()
		res.BytesAfter += after
		if shared {
			res.Shared++
		}
	}
	if changed {
		if err := safeio.SyncDir(s.cfg.Path); err != nil {
			return res, err
		}
	}
	return res, nil
}

// compactForm returns the path of the compact form of msgID, "" if none.
func (s *Store) compactForm(msgID string) string {
	for _, ext := range []string{ExtRef, ExtZstd} {
		p := filepath.Join(s.cfg.Path, msgID+ext)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// compactOne writes the compact form of one plain file and makes it
// durable; the caller removes the plain file. It returns the new form's
// size and whether the body was already stored.
func (s *Store) compactOne(msgID, plain string, c Compaction, enc *zstd.Encoder, mtime time.Time) (int64, bool, error) {
	data, err := os.ReadFile(plain)
	if err != nil {
		return 0, false, fmt.Errorf("store: compact %s: %w", msgID, err)
	}
	if s.compactRead != nil {
		s.compactRead(msgID)
	}
	if !c.Dedup {
		out := enc.EncodeAll(data, make([]byte, 0, len(data)/3))
		return int64(len(out)), false, s.place(filepath.Join(s.cfg.Path, msgID+ExtZstd), out, mtime)
	}
	_, body, err := Read(data)
	if err != nil {
		return 0, false, fmt.Errorf("store: compact %s: %w", msgID, err)
	}
	head := data[:len(data)-len(body)]
	recv := bytes.LastIndex(head[:len(head)-2], []byte("\r\n"))
	if recv < 0 || !bytes.HasPrefix(head[recv+2:], []byte("Received: ")) {
		return 0, false, fmt.Errorf("store: compact %s: no Received line", msgID)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	blob, shared, err := s.putBody(hash, body, enc)
	if err != nil {
		return 0, false, fmt.Errorf("store: compact %s: %w", msgID, err)
	}
	ref := make([]byte, 0, len(head)+100)
	ref = append(ref, head[:recv+2]...)
	ref = append(ref, HeaderBodyRef+": sha256:"+hash+"\r\n"...)
	ref = append(ref, head[recv+2:]...)
	n := int64(len(ref))
	if !shared {
		n += blob
	}
	return n, shared, s.place(filepath.Join(s.cfg.Path, msgID+ExtRef), ref, mtime)
}

// place writes a new file durably under its final name. A non-zero
// mtime becomes the file's modification time: a compact form keeps its
// message's age, which max_store_age goes by.
func (s *Store) place(final string, data []byte, mtime time.Time) error {
	tmp := filepath.Join(s.tmp, "compact-"+filepath.Base(final))
	if err := safeio.WriteNew(tmp, data, 0o644); err != nil {
		return err
	}
	// After the close: on Windows, closing a handle that wrote sets the
	// modification time. The time is not flushed on its own; a crash
	// may cost the age, never the message.
	if !mtime.IsZero() {
		if err := os.Chtimes(tmp, mtime, mtime); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	if err := safeio.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// putBody stores a body under its hash unless it is there already. It
// returns the stored size and whether it was there.
func (s *Store) putBody(hash string, body []byte, enc *zstd.Encoder) (int64, bool, error) {
	if p := bodyPath(s.cfg.Path, hash); p != "" {
		return 0, true, nil
	}
	dir := filepath.Join(s.cfg.Path, bodiesDir, hash[:2])
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, false, err
	}
	name, data := hash, body
	if enc != nil {
		name, data = hash+".zst", enc.EncodeAll(body, make([]byte, 0, len(body)/3))
	}
	if err := s.place(filepath.Join(dir, name), data, time.Time{}); err != nil {
		return 0, false, err
	}
	return int64(len(data)), false, safeio.SyncDir(dir)
}

// bodyPath returns the stored body with this hash, "" if none.
func bodyPath(root, hash string) string {
	if len(hash) != 64 {
		return ""
	}
	for _, name := range []string{hash, hash + ".zst"} {
		p := filepath.Join(root, bodiesDir, hash[:2], name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// ReadMessage returns the plain form of the message file at path (any
// of its forms: .eml, .eml.zst, .ref): fakesmtp's headers, the Received
// line, the message as received. Use it, not os.ReadFile, to read store
// files.
func ReadMessage(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return decode(path, data)
}

// decode turns the bytes of the store file at path into the plain form.
func decode(path string, data []byte) ([]byte, error) {
	switch {
	case strings.HasSuffix(path, ExtZstd) || bytes.HasPrefix(data, zstdMagic):
		return decompress(data)
	case strings.HasSuffix(path, ExtRef):
		return resolveRef(filepath.Dir(path), data)
	}
	return data, nil
}

// maxDecoded bounds what one message file may decompress to, far above
// any max_data_size, against a corrupt or hostile file.
const maxDecoded = 1 << 30

func decompress(data []byte) ([]byte, error) {
	dec, err := zstd.NewReader(bytes.NewReader(data), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxDecoded))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	return io.ReadAll(io.LimitReader(dec, maxDecoded))
}

// resolveRef rebuilds a plain file from a .ref file and its stored body.
func resolveRef(root string, ref []byte) ([]byte, error) {
	marker := []byte("\r\n" + HeaderBodyRef + ": sha256:")
	i := bytes.Index(ref, marker)
	if i < 0 {
		return nil, errors.New("store: .ref file without " + HeaderBodyRef)
	}
	rest := ref[i+len(marker):]
	j := bytes.Index(rest, []byte("\r\n"))
	if j != 64 {
		return nil, errors.New("store: bad " + HeaderBodyRef)
	}
	hash := string(rest[:j])
	p := bodyPath(root, hash)
	if p == "" {
		return nil, fmt.Errorf("store: body %s is missing", hash)
	}
	body, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(p, ".zst") {
		if body, err = decompress(body); err != nil {
			return nil, err
		}
	}
	out := make([]byte, 0, len(ref)+len(body))
	out = append(out, ref[:i+2]...)
	out = append(out, rest[j+2:]...)
	return append(out, body...), nil
}

// refHash returns the body hash a .ref file names, "" if none. A file
// that cannot be read is an error, not "no body": a caller deciding
// whether a body is still in use must not guess.
func refHash(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	marker := []byte("\r\n" + HeaderBodyRef + ": sha256:")
	i := bytes.Index(data, marker)
	if i < 0 || len(data) < i+len(marker)+64 {
		return "", nil
	}
	return string(data[i+len(marker) : i+len(marker)+64]), nil
}

// collectBodies removes stored bodies no .ref file names any more (after
// pruning or deletes). Bodies younger than grace are kept: a compaction
// may have stored one and not yet written its .ref.
func (s *Store) collectBodies(now time.Time, grace time.Duration) (int, error) {
	root := filepath.Join(s.cfg.Path, bodiesDir)
	if _, err := os.Stat(root); err != nil {
		return 0, nil
	}
	entries, err := os.ReadDir(s.cfg.Path)
	if err != nil {
		return 0, err
	}
	used := map[string]bool{}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ExtRef) {
			h, err := refHash(filepath.Join(s.cfg.Path, e.Name()))
			if errors.Is(err, os.ErrNotExist) {
				continue // deleted meanwhile
			}
			if err != nil {
				// Which bodies it names is unknown: collect none now.
				return 0, fmt.Errorf("store: collect bodies: %w", err)
			}
			if h != "" {
				used[h] = true
			}
		}
	}
	removed := 0
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		hash := strings.TrimSuffix(d.Name(), ".zst")
		if used[hash] {
			return nil
		}
		if fi, err := d.Info(); err != nil || now.Sub(fi.ModTime()) < grace {
			return nil
		}
		if os.Remove(p) == nil {
			removed++
		}
		return nil
	})
	return removed, err
}
