// Package policy holds fakesmtp's screening decisions. Each check takes
// what it needs explicitly (lists, resolvers, clocks) and returns a typed
// SMTP reply; the session decides when to ask.
package policy

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"fakesmtp/internal/smtp"
)

// Recipients is the original's LocalDomains / LocalMailBoxes check: RCPT
// to a domain that is not ours is relaying (550 5.7.1), RCPT to an
// unknown mailbox is refused (550 5.1.1). Both count as errors in the
// session, which is the original's defence against address harvesting.
// The lists are files; Reload re-reads them (SIGHUP) without disturbing
// sessions, which keep using the lists they started a check with.
type Recipients struct {
	domainsFile, mailboxesFile string
	lists                      atomic.Pointer[recipientLists]
}

type recipientLists struct {
	domains   map[string]bool // lower-case; empty = every domain is local
	mailboxes map[string]bool // lower-case local@domain; empty = all accepted
}

// NewRecipients loads the domain and mailbox files; an empty name means
// "accept all". A file that cannot be read is an error.
func NewRecipients(domainsFile, mailboxesFile string) (*Recipients, error) {
	r := &Recipients{domainsFile: domainsFile, mailboxesFile: mailboxesFile}
	if err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// Reload re-reads both files. On error the lists in use stay as they were.
func (r *Recipients) Reload() error {
	domains, err := readList(r.domainsFile, normalizeDomain)
	if err != nil {
		return err
	}
	mailboxes, err := readList(r.mailboxesFile, normalizeMailbox)
	if err != nil {
		return err
	}
	r.lists.Store(&recipientLists{domains: domains, mailboxes: mailboxes})
	return nil
}

// Counts returns the number of domains and mailboxes loaded.
func (r *Recipients) Counts() (domains, mailboxes int) {
	l := r.lists.Load()
	return len(l.domains), len(l.mailboxes)
}

// CheckRecipient returns the zero Reply to accept p, or the refusal.
func (r *Recipients) CheckRecipient(p smtp.Path) smtp.Reply {
	// RFC 5321 4.5.1: <postmaster> must always be accepted.
	if p.IsPostmaster() {
		return smtp.Reply{}
	}
	l := r.lists.Load()
	if len(l.domains) > 0 && !l.domains[normalizeDomain(p.Domain)] {
		return smtp.ReplyRelayDenied
	}
	if len(l.mailboxes) > 0 && !l.mailboxes[normalizeMailbox(p.String())] {
		return smtp.ReplyNoSuchUser
	}
	return smtp.Reply{}
}

// LocalDomain reports whether domain is one of ours: always true when no
// local_domains file is set.
func (r *Recipients) LocalDomain(domain string) bool {
	l := r.lists.Load()
	return len(l.domains) == 0 || l.domains[normalizeDomain(domain)]
}

func normalizeDomain(d string) string { return strings.TrimSuffix(strings.ToLower(d), ".") }

func normalizeMailbox(a string) string {
	a = strings.TrimSuffix(strings.TrimPrefix(a, "<"), ">")
	return strings.ToLower(a)
}

// readList reads a file of one entry per line; "#" starts a comment and
// blank lines are skipped. An empty name is an empty list.
func readList(name string, norm func(string) string) (map[string]bool, error) {
	set := map[string]bool{}
	if name == "" {
		return set, nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("policy: read list %s: %w", name, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if line = strings.TrimSpace(line); line != "" {
			set[norm(line)] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("policy: read list %s: %w", name, err)
	}
	return set, nil
}
