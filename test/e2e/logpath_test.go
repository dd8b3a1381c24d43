package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLogPath checks that with --log-path DIR the application and session
// logs go to the monthly files DIR/fakesmtp-MM.log and DIR/sessions-MM.log
// (the C# original's names), and that the session log can be joined with
// a stored message through its X-FakeSMTP-Session header. DIR is usually
// made by the operator beforehand ("existing") or left to fakesmtp ("new").
func TestLogPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		logDir func(t *testing.T) string
	}{
		{"new", func(t *testing.T) string { return filepath.Join(t.TempDir(), "logs") }},
		{"existing", func(t *testing.T) string { return t.TempDir() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			logDir := tc.logDir(t)
			monthBefore := time.Now().Format("01")
			srv := startDev(t, "--log-path", logDir)
			out := swaks(t, "--server", srv.Addr, "--from", "a@example.org", "--to", "b@example.net",
				"--header", "Subject: e2e log_path")
			id := queuedID(t, out)
			env, _ := readMessage(t, srv.Store, id)
			srv.stop(t)
			monthAfter := time.Now().Format("01")

			if s := srv.Stderr.String(); s != "" {
				t.Errorf("with log_path, stderr should stay empty; got:\n%s", s)
			}
			app := logFile(t, logDir, "fakesmtp", monthBefore, monthAfter)
			if !strings.Contains(app, `msg=started`) || !strings.Contains(app, `msg=stopped`) {
				t.Errorf("application log lacks started/stopped:\n%s", app)
			}
			sessions := logFile(t, logDir, "sessions", monthBefore, monthAfter)
			var found bool
			for _, line := range strings.Split(sessions, "\n") {
				if strings.Contains(line, `msg="message accepted"`) && strings.Contains(line, " session="+env.Session+" ") &&
					strings.Contains(line, " id="+id+" ") {
					found = true
				}
			}
			if !found {
				t.Errorf("session log has no \"message accepted\" line with session=%s id=%s:\n%s", env.Session, id, sessions)
			}
		})
	}
}

// logFile reads dir/prefix-MM.log for the month the test ran in (either,
// if it ran across the end of a month).
func logFile(t *testing.T, dir, prefix string, months ...string) string {
	t.Helper()
	for _, mm := range months {
		data, err := os.ReadFile(filepath.Join(dir, prefix+"-"+mm+".log"))
		if err == nil {
			return string(data)
		}
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	t.Fatalf("no %s-%s.log in %s; it holds %v", prefix, months[0], dir, names)
	return ""
}
