package mimeview

import (
	"net/mail"
	"strings"
)

// addresses parses the values of an address field (RFC 5322 3.4). Each
// value is normally one field; a message with the field repeated gets
// the union, as readers show it.
//
// net/mail does the parsing, with d's word decoder, as go-message's
// mail.ParseAddressList does; go-message's own would fail the whole list
// on an encoded word in an unknown charset. When the strict parser
// rejects a list, each comma-separated entry is parsed alone and what
// cannot be parsed is salvaged, so that a From of "John Doe" or
// "<bob@example.com" still shows something.
func (d *decoder) addresses(field string, values []string) []Address {
	var out []Address
	p := mail.AddressParser{WordDecoder: &d.wd}
	for _, v := range values {
		list, err := p.ParseList(v)
		if err == nil {
			for _, a := range list {
				out = append(out, d.address(field, a))
			}
			continue
		}
		if strings.TrimSpace(v) == "" {
			continue
		}
		d.prob.add("header %s: %v in %s", field, err, quote([]byte(v)))
		for _, entry := range splitList(v) {
			if a, err := p.Parse(entry); err == nil {
				out = append(out, d.address(field, a))
			} else {
				out = append(out, d.salvage(field, entry))
			}
		}
	}
	return out
}

// address converts a parsed address, decoding the encoded words that
// net/mail leaves in quoted display names: RFC 2047 5(3) forbids them
// there, but Outlook and many PHP mailers write `"=?UTF-8?B?...?=" <a@b>`
// and every mail reader decodes it.
func (d *decoder) address(field string, a *mail.Address) Address {
	name := a.Name
	if strings.Contains(name, "=?") {
		name = d.text("header "+field, name)
	}
	return Address{
		Name: strings.ToValidUTF8(name, "\uFFFD"),
		Addr: strings.ToValidUTF8(a.Address, "\uFFFD"),
	}
}

// salvage makes what it can of an entry net/mail rejected: the text in
// angle brackets is the address, the rest the name; without brackets an
// entry with "@" is an address and anything else a name.
func (d *decoder) salvage(field, entry string) Address {
	entry = strings.TrimSpace(entry)
	if lt := strings.LastIndexByte(entry, '<'); lt >= 0 {
		addr := entry[lt+1:]
		if gt := strings.IndexByte(addr, '>'); gt >= 0 {
			addr = addr[:gt]
		}
		name := strings.Trim(strings.TrimSpace(entry[:lt]), `"`)
		return Address{
			Name: d.text("header "+field, name),
			Addr: strings.ToValidUTF8(strings.TrimSpace(addr), "\uFFFD"),
		}
	}
	if strings.Contains(entry, "@") {
		return Address{Addr: strings.ToValidUTF8(entry, "\uFFFD")}
	}
	return Address{Name: d.text("header "+field, strings.Trim(entry, `"`))}
}

// splitList splits an address list at the commas that separate entries:
// not those inside quotes, angle brackets or comments.
func splitList(v string) []string {
	var out []string
	var quoted, escaped bool
	angle, comment, start := 0, 0, 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case quoted:
			quoted = c != '"'
		case c == '"':
			quoted = true
		case c == '(':
			comment++
		case c == ')' && comment > 0:
			comment--
		case c == '<':
			angle++
		case c == '>' && angle > 0:
			angle--
		case c == ',' && angle == 0 && comment == 0:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	out = append(out, v[start:])
	kept := out[:0]
	for _, e := range out {
		if strings.TrimSpace(e) != "" {
			kept = append(kept, e)
		}
	}
	return kept
}
