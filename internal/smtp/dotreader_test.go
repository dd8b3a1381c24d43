package smtp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll reads a message with a DotReader and returns the content and what
// is left in the stream after it.
func readAll(t *testing.T, in string, oneByte bool) (string, string, DataStats, error) {
	t.Helper()
	var src io.Reader = strings.NewReader(in)
	if oneByte {
		src = iotest.OneByteReader(src)
	}
	br := bufio.NewReaderSize(src, 16)
	d := NewDotReader(br)
	var got []byte
	var err error
	if oneByte {
		p := make([]byte, 1)
		for {
			var n int
			n, err = d.Read(p)
			got = append(got, p[:n]...)
			if err != nil {
				break
			}
		}
		if err == io.EOF {
			err = nil
		}
	} else {
		got, err = io.ReadAll(d)
	}
	rest, _ := io.ReadAll(br)
	return string(got), string(rest), d.Stats(), err
}

func TestDotReader(t *testing.T) {
	tests := []struct {
		name, in, want, rest string
		bareLF, bareCR       int
		long                 int
		wantErr              error
	}{
		{name: "empty message", in: ".\r\n", want: ""},
		{name: "simple", in: "a\r\nb\r\n.\r\n", want: "a\r\nb\r\n"},
		{name: "rest kept", in: "a\r\n.\r\nQUIT\r\n", want: "a\r\n", rest: "QUIT\r\n"},
		{name: "dot stuffed", in: "..\r\n..foo\r\n.bar\r\n.\r\n", want: ".\r\n.foo\r\nbar\r\n"},
		{name: "dot mid line", in: "a.b\r\n a.\r\n.\r\n", want: "a.b\r\n a.\r\n"},
		{name: "no final crlf is not end", in: "a.\r\n", wantErr: io.ErrUnexpectedEOF, want: "a.\r\n"},
		// Smuggling variants (antispam.md 4.1): all are content.
		{name: "S2 LF.LF", in: "x\n.\nMAIL\r\n.\r\n", want: "x\n.\nMAIL\r\n", bareLF: 2},
		{name: "S3 LF.CRLF", in: "x\n.\r\nMAIL\r\n.\r\n", want: "x\n.\r\nMAIL\r\n", bareLF: 1},
		{name: "S4 CRLF.LF", in: "x\r\n.\nMAIL\r\n.\r\n", want: "x\r\n.\nMAIL\r\n", bareLF: 1},
		{name: "S5 CR.CR", in: "x\r.\rMAIL\r\n.\r\n", want: "x\r.\rMAIL\r\n", bareCR: 2},
		{name: "S6 CR.LF", in: "x\r.\nM\r\n.\r\n", want: "x\r.\nM\r\n", bareCR: 1, bareLF: 1},
		{name: "S6 LF.CR", in: "x\n.\rM\r\n.\r\n", want: "x\n.\rM\r\n", bareCR: 1, bareLF: 1},
		{name: "S6 CR.CRLF", in: "x\r.\r\nM\r\n.\r\n", want: "x\r.\r\nM\r\n", bareCR: 1},
		{name: "S6 CRLF.CR", in: "x\r\n.\rM\r\n.\r\n", want: "x\r\n.\rM\r\n", bareCR: 1},
		{name: "S7 CRLF.CRCRLF", in: "x\r\n.\r\r\nM\r\n.\r\n", want: "x\r\n.\r\r\nM\r\n", bareCR: 1},
		{name: "S7 CRCRLF.CRCRLF", in: "x\r\r\n.\r\r\nM\r\n.\r\n", want: "x\r\r\n.\r\r\nM\r\n", bareCR: 2},
		{name: "S8 NUL before dot", in: "x\r\n\x00.\r\nM\r\n.\r\n", want: "x\r\n\x00.\r\nM\r\n"},
		{name: "S8 NUL after dot", in: "x\r\n.\x00\r\nM\r\n.\r\n", want: "x\r\n\x00\r\nM\r\n"},
		{name: "S8 NUL before CRLF", in: "x\x00\r\n.\r\nM", want: "x\x00\r\n", rest: "M"},
		{name: "S8 NUL inside CR LF", in: "x\r\x00\n.\r\nM\r\n.\r\n", want: "x\r\x00\n.\r\nM\r\n", bareCR: 1, bareLF: 1},
		{name: "S8 NUL after CR", in: "x\r\n.\r\x00\nM\r\n.\r\n", want: "x\r\n.\r\x00\nM\r\n", bareCR: 1, bareLF: 1},
		{name: "S8 NUL after end", in: "x\r\n.\r\n\x00MAIL", want: "x\r\n", rest: "\x00MAIL"},
		{name: "bare LF at line start", in: "a\r\n\n\r\n.\r\n", want: "a\r\n\n\r\n", bareLF: 1},
		{name: "8bit", in: "h\xc3\xa9\xff\r\n.\r\n", want: "h\xc3\xa9\xff\r\n"},
		{name: "line of 998", in: strings.Repeat("a", 998) + "\r\n.\r\n", want: strings.Repeat("a", 998) + "\r\n"},
		{name: "line of 999", in: strings.Repeat("a", 999) + "\r\n.\r\n", want: strings.Repeat("a", 999) + "\r\n", long: 1},
		{name: "stuffed line of 998", in: "." + strings.Repeat(".", 998) + "\r\n.\r\n", want: strings.Repeat(".", 998) + "\r\n"},
	}
	for _, tc := range tests {
		for _, oneByte := range []bool{false, true} {
			t.Run(tc.name, func(t *testing.T) {
				got, rest, st, err := readAll(t, tc.in, oneByte)
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if got != tc.want {
					t.Errorf("content = %q, want %q", got, tc.want)
				}
				if tc.wantErr == nil && rest != tc.rest {
					t.Errorf("rest = %q, want %q", rest, tc.rest)
				}
				if st.BareLF != tc.bareLF || st.BareCR != tc.bareCR {
					t.Errorf("bare LF/CR = %d/%d, want %d/%d", st.BareLF, st.BareCR, tc.bareLF, tc.bareCR)
				}
				if st.LongLines != tc.long {
					t.Errorf("long lines = %d, want %d", st.LongLines, tc.long)
				}
				if st.Bytes != int64(len(tc.want)) {
					t.Errorf("Bytes = %d, want %d", st.Bytes, len(tc.want))
				}
			})
		}
	}
}

func TestDotReaderStats(t *testing.T) {
	_, _, st, err := readAll(t, "a\xe9\x00\r\n.\r\n", false)
	if err != nil || !st.EightBit || !st.NUL {
		t.Fatalf("stats = %+v err %v, want 8-bit and NUL", st, err)
	}
	_, _, st, _ = readAll(t, "plain\r\n.\r\n", false)
	if st.EightBit || st.NUL {
		t.Fatalf("stats = %+v, want 7-bit", st)
	}
}

// stuff dot-stuffs content the way a client does (RFC 5321 4.5.2).
func stuff(content string) string {
	var b strings.Builder
	bol := true
	for i := 0; i < len(content); i++ {
		c := content[i]
		if bol && c == '.' {
			b.WriteByte('.')
		}
		b.WriteByte(c)
		bol = c == '\n' && i > 0 && content[i-1] == '\r'
	}
	if !strings.HasSuffix(content, "\r\n") && content != "" {
		b.WriteString("\r\n")
	}
	b.WriteString(".\r\n")
	return b.String()
}

func FuzzDotReader(f *testing.F) {
	for _, s := range []string{"", "a\r\n", ".\r\n..\r\n", "x\n.\n", "x\r.\r", "\r\n.\r\r\n", strings.Repeat("z", 1200)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		// Property 1: any CRLF-terminated content, stuffed, round-trips.
		c := string(content)
		if c != "" && !strings.HasSuffix(c, "\r\n") {
			c += "\r\n"
		}
		// A content line "." would be stuffed, so the round trip holds
		// for every input except those with bare CR/LF next to a leading
		// dot, which a stuffing client sends doubled ("..\n") anyway.
		in := stuff(c)
		br := bufio.NewReaderSize(bytes.NewReader([]byte(in+"NEXT")), 16)
		d := NewDotReader(br)
		got, err := io.ReadAll(d)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if string(got) != c {
			t.Fatalf("round trip: got %q want %q (wire %q)", got, c, in)
		}
		rest, _ := io.ReadAll(br)
		if string(rest) != "NEXT" {
			t.Fatalf("read past end of data: rest %q", rest)
		}
		// Property 2: raw input never ends anywhere but at CRLF.CRLF.
		src := bytes.NewReader(content)
		br = bufio.NewReaderSize(src, 16)
		d = NewDotReader(br)
		_, err = io.ReadAll(d)
		if err == nil {
			consumed := len(content) - br.Buffered() - src.Len()
			pre := string(content[:consumed])
			if !(pre == ".\r\n" || strings.HasSuffix(pre, "\r\n.\r\n")) {
				t.Fatalf("ended at %q, not at CRLF.CRLF", pre)
			}
		}
	})
}

func TestReadLine(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     []string // "ERR" for ErrLineTooLong
		bareLF   []bool
	}{
		{name: "crlf", in: "EHLO a\r\nQUIT\r\n", max: 512, want: []string{"EHLO a", "QUIT"}, bareLF: []bool{false, false}},
		{name: "bare lf", in: "EHLO a\nQUIT\r\n", max: 512, want: []string{"EHLO a", "QUIT"}, bareLF: []bool{true, false}},
		{name: "too long then ok", in: strings.Repeat("a", 100) + "\r\nNOOP\r\n", max: 50, want: []string{"ERR", "NOOP"}},
		{name: "exact max", in: strings.Repeat("a", 48) + "\r\n", max: 50, want: []string{strings.Repeat("a", 48)}},
		{name: "one over", in: strings.Repeat("a", 49) + "\r\n", max: 50, want: []string{"ERR"}},
		{name: "cr alone is no end", in: "EHLO a\rQUIT\r\n", max: 512, want: []string{"EHLO a\rQUIT"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(tc.in), 16)
			for i, w := range tc.want {
				l, err := ReadLine(br, tc.max)
				if w == "ERR" {
					if !errors.Is(err, ErrLineTooLong) {
						t.Fatalf("line %d: err %v, want ErrLineTooLong", i, err)
					}
					continue
				}
				if err != nil || l.Text != w {
					t.Fatalf("line %d = %q, %v; want %q", i, l.Text, err, w)
				}
				if tc.bareLF != nil && l.BareLF != tc.bareLF[i] {
					t.Errorf("line %d bareLF = %v", i, l.BareLF)
				}
			}
		})
	}
}

func TestReadLineBoundedMemory(t *testing.T) {
	// 8 MiB without LF: drained through a 4 KiB buffer, never held.
	r := io.MultiReader(io.LimitReader(repeatReader('x'), 8<<20), strings.NewReader("\r\nQUIT\r\n"))
	br := bufio.NewReaderSize(r, 4096)
	if _, err := ReadLine(br, 2048); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("err = %v", err)
	}
	l, err := ReadLine(br, 2048)
	if err != nil || l.Text != "QUIT" {
		t.Fatalf("next line %q %v", l.Text, err)
	}
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// timeoutOnce returns its first part, then a timeout, then the rest: a
// read deadline (a shutdown's wake) that lands in the middle of a line.
type timeoutOnce struct {
	parts []string
	fired bool
}

type timeoutErr struct{}

func (timeoutErr) Error() string { return "i/o timeout" }
func (timeoutErr) Timeout() bool { return true }

func (t *timeoutOnce) Read(p []byte) (int, error) {
	if len(t.parts) == 0 {
		return 0, io.EOF
	}
	if len(t.parts) == 1 && !t.fired {
		t.fired = true
		return 0, timeoutErr{}
	}
	n := copy(p, t.parts[0])
	if t.parts[0] = t.parts[0][n:]; t.parts[0] == "" {
		t.parts = t.parts[1:]
	}
	return n, nil
}

// A line cut by a read error comes back in Partial, and ReadLineAfter
// finishes the same line: its second half is not taken for a command.
func TestReadLineAfterTimeout(t *testing.T) {
	br := bufio.NewReaderSize(&timeoutOnce{parts: []string{"MAIL FR", "OM:<a@example.org>\r\nQUIT\r\n"}}, 16)
	l, err := ReadLine(br, 512)
	var te timeoutErr
	if !errors.As(err, &te) || string(l.Partial) != "MAIL FR" {
		t.Fatalf("first read: %q, %v; want the partial line and the timeout", l.Partial, err)
	}
	l, err = ReadLineAfter(br, 512, l.Partial)
	if err != nil || l.Text != "MAIL FROM:<a@example.org>" || l.BareLF {
		t.Fatalf("continued line = %+v, %v", l, err)
	}
	// The limit counts the whole line, the part before the cut included.
	br = bufio.NewReaderSize(&timeoutOnce{parts: []string{"NOOP " + strings.Repeat("a", 40), strings.Repeat("b", 40) + "\r\nQUIT\r\n"}}, 16)
	l, _ = ReadLine(br, 64)
	if l, err = ReadLineAfter(br, 64, l.Partial); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("over-long continued line: %+v, %v", l, err)
	}
	if l, err = ReadLine(br, 64); err != nil || l.Text != "QUIT" {
		t.Fatalf("after the over-long line: %+v, %v", l, err)
	}
}

// Cut anywhere by a deadline, a stream of lines reads the same with
// ReadLineAfter as without the cut: every cut position of some inputs,
// with a buffer smaller than the lines.
func TestReadLineAfterAnyCut(t *testing.T) {
	inputs := []string{
		"EHLO client.example\r\nMAIL FROM:<a@example.org> SIZE=100\r\nRCPT TO:<b@example.net>\r\nQUIT\r\n",
		"HELO a\nNOOP\r\n" + strings.Repeat("x", 70) + "\r\nRSET\r\n",
		"\r\n\n\r\r\nDATA\r\n",
		"NOOP\r\n" + strings.Repeat("y", 200) + "\r\nQUIT\r\n", // the cut may land in the drain
	}
	const max = 64
	lines := func(br *bufio.Reader) []string {
		var out []string
		var partial []byte
		for {
			l, err := ReadLineAfter(br, max, partial)
			partial = nil
			var te timeoutErr
			switch {
			case errors.As(err, &te):
				partial = l.Partial
				continue
			case errors.Is(err, ErrLineTooLong):
				out = append(out, "ERR")
				continue
			case err != nil:
				return append(out, "END "+err.Error())
			}
			out = append(out, fmt.Sprintf("%q %v", l.Text, l.BareLF))
		}
	}
	for _, in := range inputs {
		want := lines(bufio.NewReaderSize(strings.NewReader(in), 16))
		for cut := 1; cut < len(in); cut++ {
			got := lines(bufio.NewReaderSize(&timeoutOnce{parts: []string{in[:cut], in[cut:]}}, 16))
			if !slices.Equal(got, want) {
				t.Fatalf("cut at %d of %q:\n got %q\nwant %q", cut, in, got, want)
			}
		}
	}
}
