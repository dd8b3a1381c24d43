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
	name := fmt.Sprintf("%d.M%dP%d_%s.%s", now.Unix(), now.Nanosecond()/1000, os.Getpid(), env.ID, maildirHost(s.cfg.Hostname))
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
// <root>/<domain>/<local>, the domain being what follows the last "@" (a
// quoted local part may hold "@" too, RFC 5321 4.1.2) and "_" for an
// address without one (RCPT TO:<postmaster>, RFC 5321 4.5.1). Each part
// is lower-cased and made a single path element by folderName, so no
// address can name a folder outside root and no two addresses that differ
// after lower-casing share one.
func RecipientDir(root, rcpt string) string {
	rcpt = strings.ToLower(rcpt)
	local, domain := rcpt, "_"
	if at := strings.LastIndexByte(rcpt, '@'); at >= 0 {
		local, domain = rcpt[:at], rcpt[at+1:]
	}
	return filepath.Join(root, folderName(domain), folderName(local))
}

// maildirHost is the host part of a Maildir file name: "/" and ":" are
// written \057 and \072, as the Maildir specification asks, so the name
// stays one path element and its ":2," info suffix stays unambiguous.
func maildirHost(h string) string {
	return strings.NewReplacer("/", `\057`, ":", `\072`).Replace(h)
}

// folderName encodes s as one folder name, reversibly: letters, digits and
// "-_+" stay, and so does "." except in the first place (a leading dot
// would hide the folder, and Maildir++ readers take ".name" for a
// subfolder); every other byte, "=" and UTF-8 included, becomes =XX (its
// hex value). The empty string becomes "=", which no encoding produces.
func folderName(s string) string {
	if s == "" {
		return "="
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '+' || c == '.' && i > 0 {
			b = append(b, c)
			continue
		}
		b = append(b, '=', hex[c>>4], hex[c&0xf])
	}
	return string(b)
}
