package smtp

import "strings"

// httpMethods are the first words of HTTP requests that reach mail ports
// (a browser pointed at the wrong port, proxy scanners).
var httpMethods = []string{"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"}

// NonSMTP tells whether an unknown command line is not SMTP at all, and
// what it is: an HTTP request, a proxy CONNECT, or a mail header sent as
// a command ("Subject: hi", from a client that lost track of DATA, or a
// bot that sends the message blind). It returns "" for anything else.
func NonSMTP(line string) string {
	word, rest, _ := strings.Cut(line, " ")
	for _, m := range httpMethods {
		if word == m && (strings.Contains(rest, " HTTP/") || m == "CONNECT") {
			return "HTTP request"
		}
	}
	if len(word) > 1 && strings.HasSuffix(word, ":") && !strings.ContainsAny(word[:len(word)-1], ":<>@") {
		return "mail header as a command"
	}
	return ""
}
