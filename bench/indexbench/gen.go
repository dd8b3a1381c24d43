package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"fakesmtp/internal/index"
)

// gen makes synthetic messages: the same seed gives the same messages.
// Word frequencies follow a Zipf law over a vocabulary of common English
// words and a long tail of made-up ones, as in real text, so that some
// search words are in most messages and some in few; senders cluster on
// a few busy domains, as a test inbox's do.
type gen struct {
	r       *rand.Rand
	vocab   []string
	zipf    *rand.Zipf
	domains []string
	dzipf   *rand.Zipf
	people  []string
	base    time.Time
}

// common are frequent English words of mail text.
var common = strings.Fields(`the to and of a in for is on that your you this with be it are from at as
we have or by our will not please can an if all was order account has more new us any
here information any time email team thank thanks help service now get one like just
message contact update support click view details date number customer report free week
today payment receipt delivery shipping account password security meeting project review
attached document schedule confirm request available price offer product online questions
invoice subscription newsletter reply unsubscribe privacy policy terms address phone
total amount due balance statement notice reminder important regards best sincerely`)

var (
	firstNames = strings.Fields(`olivia liam emma noah amelia oliver sophia elijah isabella james ava
		william mia benjamin evelyn lucas harper henry luna theodore camila jack gianna zoë chloé mateo
		søren ana lukas marie jonas léa`)
	lastNames = strings.Fields(`smith johnson williams brown jones garcia miller davis rodriguez
		martinez hernandez lopez gonzalez wilson anderson thomas taylor moore jackson martin lee müller
		dubois rossi novak kowalski`)
	busyDomains = []string{"shop.example", "newsletter.example", "bank.example", "social.example", "travel.example"}
	subjects    = []string{
		"Your order #%d has shipped", "Invoice %d from %s", "Re: %s", "Meeting notes: %s",
		"Password reset for your account", "[%s] Weekly digest", "Order confirmation %d",
		"Shipping delayed for order %d", "Welcome to %s", "Your %s receipt", "Security alert: new sign-in",
		"Newsletter: %s", "Fwd: %s", "%s", "Reminder: payment due %d",
	}
	// sentences of the subject kinds, so that bodies say what subjects do.
	sentences = map[int]string{
		0:  "Good news: your order has shipped and is on its way. Track the delivery online.",
		1:  "Please find your invoice attached. The total amount is due within 30 days.",
		6:  "Thank you for your order. This is your order confirmation; keep it for your records.",
		7:  "We are sorry: shipping of your order is delayed. We will send an update soon.",
		4:  "Someone asked to reset the password of your account. Ignore this email if it was not you.",
		10: "We noticed a new sign-in to your account from a new device.",
		14: "This is a reminder that your payment is due. Pay online to avoid a late fee.",
	}
)

func newGen(seed uint64) *gen {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &gen{r: r, base: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)}
	g.vocab = append(g.vocab, common...)
	syll := strings.Fields("ka lo mi ne ru ta ve zo pre san tor lin gar bel qua fen dor mis")
	seen := map[string]bool{}
	for _, w := range common {
		seen[w] = true
	}
	for len(g.vocab) < 4000 {
		var b strings.Builder
		for k := 2 + r.IntN(3); k > 0; k-- {
			b.WriteString(syll[r.IntN(len(syll))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			g.vocab = append(g.vocab, w)
		}
	}
	g.zipf = rand.NewZipf(r, 1.1, 1, uint64(len(g.vocab)-1))
	g.domains = append(g.domains, busyDomains...)
	for i := 0; i < 300; i++ {
		g.domains = append(g.domains, fmt.Sprintf("%s%d.example", g.vocab[len(common)+i], i))
	}
	g.dzipf = rand.NewZipf(r, 1.2, 1, uint64(len(g.domains)-1))
	for _, f := range firstNames {
		for _, l := range lastNames {
			g.people = append(g.people, f+" "+l)
		}
	}
	return g
}

func (g *gen) word() string { return g.vocab[g.zipf.Uint64()] }

func (g *gen) words(n int) string {
	ws := make([]string, n)
	for i := range ws {
		ws[i] = g.word()
	}
	return strings.Join(ws, " ")
}

// person returns a display name and an address.
func (g *gen) person(domain string) (string, string) {
	p := g.people[g.r.IntN(len(g.people))]
	parts := strings.Fields(p)
	for i, w := range parts {
		r, n := utf8.DecodeRuneInString(w)
		parts[i] = string(unicode.ToUpper(r)) + w[n:]
	}
	name := strings.Join(parts, " ")
	return name, strings.ReplaceAll(p, " ", ".") + "@" + domain
}

// message makes the i-th of n messages, received over 30 days.
func (g *gen) message(i, n int) index.Message {
	r := g.r
	at := g.base.Add(time.Duration(float64(i)/float64(n)*30*24) * time.Hour).Add(time.Duration(r.IntN(3600)) * time.Second)
	domain := g.domains[g.dzipf.Uint64()]
	name, addr := g.person(domain)
	m := index.Message{
		ID:         newID(at),
		Session:    newID(at.Add(-time.Second)),
		ReceivedAt: at,
		ClientIP:   fmt.Sprintf("10.%d.%d.%d", r.IntN(4), r.IntN(256), 1+r.IntN(254)),
		ClientPort: 1024 + r.IntN(60000),
		Helo:       "mail." + domain,
		MailFrom:   "bounce+" + fmt.Sprint(r.IntN(1e6)) + "@" + domain,
		Date:       at.Add(-time.Duration(r.IntN(120)) * time.Second),
		MessageID:  fmt.Sprintf("%d.%d@%s", i, r.IntN(1e9), domain),
		Size:       int64(1500 + r.IntN(3000)),
	}
	if r.IntN(3) > 0 {
		m.From = []string{name + " <" + addr + ">"}
	} else {
		m.From = []string{addr}
	}
	for k := 1 + r.IntN(2); k > 0; k-- {
		n, a := g.person("corp.example")
		m.To = append(m.To, n+" <"+a+">")
		m.RcptTo = append(m.RcptTo, a)
	}
	if r.IntN(5) == 0 {
		_, a := g.person("corp.example")
		m.Cc = []string{a}
		m.RcptTo = append(m.RcptTo, a)
	}
	kind := r.IntN(len(subjects))
	subj := subjects[kind]
	switch strings.Count(subj, "%") {
	case 1:
		if strings.Contains(subj, "%d") {
			subj = fmt.Sprintf(subj, 10000+r.IntN(90000))
		} else {
			subj = fmt.Sprintf(subj, g.words(1+r.IntN(4)))
		}
	case 2:
		subj = fmt.Sprintf(subj, 10000+r.IntN(90000), domain)
	}
	m.Subject = subj
	var body strings.Builder
	fmt.Fprintf(&body, "Hello %s,\n\n", strings.Fields(m.To[0])[0])
	if s, ok := sentences[kind]; ok {
		body.WriteString(s + "\n\n")
	}
	target := 1000 + r.IntN(1000)
	for body.Len() < target {
		body.WriteString(g.words(8+r.IntN(12)) + ".\n")
	}
	fmt.Fprintf(&body, "\nBest regards,\n%s\n", name)
	m.Text = body.String()
	if r.IntN(5) == 0 {
		m.Attachments = 1 + r.IntN(3)
	}
	if r.IntN(3) == 0 {
		m.Verdicts = append(m.Verdicts, "tls")
	}
	if r.IntN(20) == 0 {
		m.Verdicts = append(m.Verdicts, "dnsbl:zen.example")
	}
	if r.IntN(50) == 0 {
		m.Verdicts = append(m.Verdicts, "dnsbl:bl.example")
	}
	if r.IntN(10) == 0 {
		m.Findings = append(m.Findings, "missing-date")
	}
	// Older mail has mostly been read.
	m.Read = float64(i) < 0.7*float64(n) && r.IntN(10) > 0
	if r.IntN(50) == 0 {
		m.Tags = []string{"important"}
	}
	return m
}

// rareWord is a word of the vocabulary's tail: in a few hundred
// messages of 100,000.
func (g *gen) rareWord() string { return g.vocab[3000] }

// sender is one person's address part, in a few hundred messages.
func (g *gen) sender() string { return "olivia.martin" }

// commonDomain is the busiest sender domain.
func (g *gen) commonDomain() string { return busyDomains[0] }
