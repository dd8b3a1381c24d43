package outputs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"fakesmtp/internal/safeio"
	"fakesmtp/internal/store"
)

// makeMaildir creates the tmp, new and cur folders of a Maildir.
func makeMaildir(dir string) error {
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return fmt.Errorf("outputs: maildir %s: %w", dir, err)
		}
	}
	return nil
}

// maildir delivers the message into the shared Maildir, or into one per
// recipient, and returns the files it wrote (also those written before
// an error, for Deliver to take back).
func (s *Set) maildir(env *store.Envelope, received string, body []byte) ([]string, error) {
	if !s.cfg.MaildirPerRecipient {
		f, err := s.deliverMaildir(s.cfg.MaildirPath, env, "", received, body)
		if err != nil {
			return nil, err
		}
		return []string{f}, nil
	}
	var written []string
	for _, r := range env.RcptTo {
		dir := RecipientDir(s.cfg.MaildirPath, r)
		if err := makeMaildir(dir); err != nil {
			return written, err
		}
		f, err := s.deliverMaildir(dir, env, r, received, body)
		if err != nil {
			return written, err
		}
		written = append(written, f)
	}
	return written, nil
}

// deliverMaildir writes one message the Maildir way: into tmp/, flushed,
// then renamed into new/ (the Maildir specification's delivery protocol),
// and new/ flushed so the name survives a crash. It returns the file's
// path in new/.
func (s *Set) deliverMaildir(dir string, env *store.Envelope, rcpt, received string, body []byte) (string, error) {
	// Unique per the Maildir spec: time, a part unique on this host (the
	// message ID, itself unique across restarts), and the host name.
	now := s.now()
	name := fmt.Sprintf("%d.M%dP%d_%s.%s", now.Unix(), now.Nanosecond()/1000, os.Getpid(), env.ID, safeName(s.cfg.Hostname))
	var b strings.Builder
	from := env.MailFrom
	b.WriteString("Return-Path: <" + store.Sanitize(from) + ">\r\n")
	if rcpt != "" {
		b.WriteString("Delivered-To: " + store.Sanitize(rcpt) + "\r\n")
	}
	b.WriteString(received)
	data := append([]byte(b.String()), body...)
	tmp := filepath.Join(dir, "tmp", name)
	final := filepath.Join(dir, "new", name+":2,")
	if err := safeio.WriteNew(tmp, data, 0o644); err != nil {
		return "", fmt.Errorf("outputs: maildir: %w", err)
	}
	if err := safeio.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("outputs: maildir: %w", err)
	}
	if err := safeio.SyncDir(filepath.Join(dir, "new")); err != nil {
		os.Remove(final)
		return "", fmt.Errorf("outputs: maildir: %w", err)
	}
	return final, nil
}

// RecipientDir is the Maildir of one recipient under root:
// <root>/<domain>/<local>, each part made safe as a single path element,
// so no address can name a folder outside root.
func RecipientDir(root, rcpt string) string {
	local, domain, ok := strings.Cut(strings.ToLower(rcpt), "@")
	if !ok {
		domain = "_"
	}
	return filepath.Join(root, safeName(domain), safeName(local))
}

// safeName keeps letters, digits and ".-_+=" and turns anything else into
// "_"; the names "", "." and ".." become "_".
func safeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".-_+=", c) >= 0) {
			b[i] = '_'
		}
	}
	out := string(b)
	if out == "" || strings.Trim(out, ".") == "" {
		return "_"
	}
	return out
}
