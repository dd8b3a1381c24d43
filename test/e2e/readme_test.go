package e2e

import (
	"path/filepath"
	"testing"
)

// TestNoArguments is the README's quick start: "fakesmtp" alone starts a
// dev-mode catcher that says where it listens and stores, and "swaks --to
// ... --server ..." delivers to it. The address and store come from the
// environment only, so the test neither clashes with a real catcher on
// 127.0.0.1:2525 nor passes a single argument.
func TestNoArguments(t *testing.T) {
	t.Parallel()
	storePath := filepath.Join(t.TempDir(), "mail")
	var vars []string
	srv := start(t, func(addr string) ([]string, []string) {
		vars = []string{"FAKESMTP_STORE_PATH=" + storePath, "FAKESMTP_LISTEN=" + addr}
		return nil, vars
	})
	if srv.Mode != "dev" || srv.Store != storePath {
		t.Errorf("started in %q mode storing in %q, want dev mode storing in %q", srv.Mode, srv.Store, storePath)
	}

	got, _ := checkConfig(t, vars)
	wantSettings(t, got, map[string]setting{
		"mode":       {`"dev"`, "default"},
		"listen":     {`["` + srv.Addr + `"]`, "env"},
		"store_path": {`"` + storePath + `"`, "env"},
	})

	// Without FAKESMTP_STORE_PATH the store is <temp dir>/fakesmtp, as
	// the README says.
	tmp := t.TempDir()
	got, _ = checkConfig(t, []string{"TMPDIR=" + tmp})
	wantSettings(t, got, map[string]setting{
		"listen":     {`["127.0.0.1:2525"]`, "mode"},
		"store_path": {`"` + filepath.Join(tmp, "fakesmtp") + `"`, "default"},
	})

	out := swaks(t, "--to", "b@example.net", "--from", "a@example.org", "--server", srv.Addr)
	env, body := readMessage(t, storePath, queuedID(t, out))
	checkEnvelope(t, env, "a@example.org", "b@example.net")
	checkBody(t, body, swaksData(t, out))
}
