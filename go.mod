module fakesmtp

go 1.26.8

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/miekg/dns v1.1.73
	github.com/pires/go-proxyproto v0.15.0
	golang.org/x/crypto v0.54.0
	golang.org/x/sys v0.47.0
)

require golang.org/x/net v0.57.0 // indirect
