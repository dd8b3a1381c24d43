package outputs

import (
	"crypto/sha256"
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
// quoted local part may hold "@" too, RFC 5321 4.1.2), and "=_" for an
// address without one (RCPT TO:<postmaster>, RFC 5321 4.5.1), a name no
// domain encodes to. Each part is lower-cased and made a single path
// element by folderName, so no address can name a folder outside root and
// no two addresses that differ after lower-casing share one.
func RecipientDir(root, rcpt string) string {
	rcpt = strings.ToLower(rcpt)
	local, domain := rcpt, noDomain
	if at := strings.LastIndexByte(rcpt, '@'); at >= 0 {
		local, domain = rcpt[:at], folderName(rcpt[at+1:])
	}
	return filepath.Join(root, domain, folderName(local))
}

// noDomain is the folder of the addresses without a domain: "=" followed
// by something other than two hex digits, which folderName never writes.
const noDomain = "=_"

// maildirHost is the host part of a Maildir file name: "/" and ":" are
// written \057 and \072, as the Maildir specification asks, so the name
// stays one path element and its ":2," info suffix stays unambiguous.
func maildirHost(h string) string { return hostEscapes.Replace(h) }

var hostEscapes = strings.NewReplacer("/", `\057`, ":", `\072`)

// folderName encodes s as one folder name, reversibly: letters, digits and
// "-_+" stay, and so does "." except in the first place (a leading dot
// would hide the folder, and Maildir++ readers take ".name" for a
// subfolder); every other byte, "=" and UTF-8 included, becomes =XX (its
// hex value). The empty string becomes "=", which no encoding produces.
//
// A name that would be longer than maxFolderName (a domain of long
// non-ASCII labels triples in length, past the 255 bytes a file system
// allows a name) is cut, never inside an =XX, and ends in "~" and a hash
// of s instead: "~" is never written otherwise, so a cut name cannot
// equal an uncut one, and two cut names differ unless their hashes do.
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
		} else {
			b = append(b, '=', hex[c>>4], hex[c&0xf])
		}
	}
	if len(b) <= maxFolderName {
		return string(b)
	}
	sum := sha256.Sum256([]byte(s))
	tag := "~" + fmt.Sprintf("%x", sum[:16])
	cut := 0 // whole bytes and =XX triplets that fit before the tag
	for cut < len(b) {
		n := 1
		if b[cut] == '=' {
			n = 3
		}
		if cut+n > maxFolderName-len(tag) {
			break
		}
		cut += n
	}
	return string(b[:cut]) + tag
}

// maxFolderName keeps a per-recipient folder name under the 255 bytes
// that ext4, xfs, btrfs and NTFS allow.
const maxFolderName = 200
