// Package e2e holds fakesmtp's end-to-end tests: the real binary, built
// once per run, started on a free 127.0.0.1 port per test and driven by
// real clients (swaks, Python's smtplib) and raw SMTP over TCP. Its only
// code is in _test.go files; this file carries the package comment.
//
// The tests need Go, swaks and python3. A missing tool fails the tests
// that need it with the command that installs it: a skipped e2e test is
// one nobody notices is not running.
package e2e
