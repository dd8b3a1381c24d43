package config

import "testing"

func TestSuggest(t *testing.T) {
	names := keyNames()
	tests := []struct {
		in, want string
	}{
		{"max_smtp_error", "max_smtp_errors"},
		{"MAX_SMTP_ERRORS", "max_smtp_errors"},
		{"maxsmtperrors", "max_smtp_errors"},
		{"max-sesions", "max_sessions"},
		{"hostnmae", "hostname"},
		{"lsten", "listen"},
		{"fsnc", "fsync"},
		{"store_pth", "store_path"},
		{"colour", ""},
		{"x", ""},
		{"", ""},
		{"completely_unrelated_setting", ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.in, names); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSuggestKeyLegacy(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ReceiveTimeOut", ` (did you mean "receive_timeout"?)`},
		{"LocalMailBoxes", ` (did you mean "local_mailboxes"?)`},
		{"ListenAddress", ` (did you mean "listen"?)`},
		{"rblproviders", ` (did you mean "rbl_providers"?)`},
		{"Nothing", ""},
	}
	for _, tt := range tests {
		if got := suggestKey(tt.in); got != tt.want {
			t.Errorf("suggestKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"", "abc", 3},
		{"kitten", "sitting", 3},
		{"listen", "listen", 0},
		{"lsiten", "listen", 2},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
