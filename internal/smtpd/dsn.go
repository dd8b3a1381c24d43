package smtpd

import (
	"strings"

	"fakesmtp/internal/smtp"
	"fakesmtp/internal/store"
)

// DSN parameters (RFC 3461) are accepted, checked and recorded with the
// message; fakesmtp sends no notifications itself, but a test of a
// sending program can see exactly what it asked for.

var replyBadDSN = smtp.Reply{Code: 501, Enhanced: smtp.EnhancedCode{5, 5, 4}, Lines: []string{"Bad DSN parameter"}}

// maxEnvidLen is RFC 3461 section 4.4's limit on ENVID (100 characters).
const maxEnvidLen = 100

// dsnRcpt is what a RCPT asked of DSN.
type dsnRcpt struct {
	rcpt          string
	notify, orcpt string
}

// mailDSN checks RET and ENVID (RFC 3461 sections 4.3, 4.4).
func mailDSN(tx *transaction, p smtp.Param) smtp.Reply {
	switch p.Key {
	case "RET":
		v := strings.ToUpper(p.Value)
		if v != "FULL" && v != "HDRS" || tx.dsnRet != "" {
			return replyBadDSN
		}
		tx.dsnRet = v
	case "ENVID":
		if !validXtext(p.Value) || len(p.Value) > maxEnvidLen || tx.dsnEnvid != "" {
			return replyBadDSN
		}
		tx.dsnEnvid = p.Value
	}
	return smtp.Reply{}
}

// rcptDSN checks NOTIFY and ORCPT (RFC 3461 sections 4.1, 4.2) of one RCPT.
func rcptDSN(params []smtp.Param) (dsnRcpt, smtp.Reply) {
	var d dsnRcpt
	for _, p := range params {
		switch p.Key {
		case "NOTIFY":
			// NEVER alone, or a list of SUCCESS, FAILURE, DELAY.
			v := strings.ToUpper(p.Value)
			seen := map[string]bool{}
			for _, item := range strings.Split(v, ",") {
				switch item {
				case "NEVER", "SUCCESS", "FAILURE", "DELAY":
				default:
					return d, replyBadDSN
				}
				if seen[item] {
					return d, replyBadDSN
				}
				seen[item] = true
			}
			if seen["NEVER"] && len(seen) > 1 {
				return d, replyBadDSN
			}
			d.notify = v
		case "ORCPT":
			// addr-type ";" xtext, e.g. rfc822;user+40example.com
			typ, addr, ok := strings.Cut(p.Value, ";")
			if !ok || typ == "" || !validAtom(typ) || !validXtext(addr) || addr == "" {
				return d, replyBadDSN
			}
			d.orcpt = p.Value
		default:
			return d, smtp.ReplyUnknownParam
		}
	}
	return d, smtp.Reply{}
}

// validXtext checks RFC 3461 section 4 xtext: printable ASCII but "+" and
// "=", with "+XX" (upper-case hex) for anything else.
func validXtext(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			if i+2 >= len(s) || !isUpperHex(s[i+1]) || !isUpperHex(s[i+2]) {
				return false
			}
			i += 2
		case c < 33 || c > 126 || c == '=':
			return false
		}
	}
	return true
}

func isUpperHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' }

func validAtom(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// dsnHeaders are the X-FakeSMTP-DSN-* annotations of the transaction.
func (tx *transaction) dsnHeaders() []string {
	var hs []string
	if tx.dsnRet != "" {
		hs = append(hs, "X-FakeSMTP-DSN-Ret: "+tx.dsnRet)
	}
	if tx.dsnEnvid != "" {
		hs = append(hs, "X-FakeSMTP-DSN-Envid: "+store.Sanitize(tx.dsnEnvid))
	}
	for _, d := range tx.dsn {
		if d.notify != "" {
			hs = append(hs, "X-FakeSMTP-DSN-Notify: <"+store.Sanitize(d.rcpt)+"> "+d.notify)
		}
		if d.orcpt != "" {
			hs = append(hs, "X-FakeSMTP-DSN-Orcpt: <"+store.Sanitize(d.rcpt)+"> "+store.Sanitize(d.orcpt))
		}
	}
	return hs
}
