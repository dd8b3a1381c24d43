// Command fakesmtp receives mail over SMTP for testing, proxying, spam
// collection or as the fake MX of an MX sandwich. It is the only place
// that reads flags, handles signals and exits; everything else is built
// here and passed down.
//
// Usage:
//
//	fakesmtp [serve] [--config FILE] [--mode dev|proxy|collector|fakemx] [--set key=value ...] [--<key> value ...]
//	fakesmtp check-config [--config FILE] [--mode M] [...]
//	fakesmtp version
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise it comes from the module's build information.
var version = ""

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches the subcommand and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		// Started by the Windows service manager: run under it.
		if code, ok := runAsService(args, stdout, stderr); ok {
			return code
		}
		return serve(ctx, args, stdout, stderr)
	case "check-config":
		return checkConfig(args, stdout, stderr)
	case "traps":
		return trapsCmd(args, stdout, stderr)
	case "export":
		return exportCmd(args, stdout, stderr)
	case "queue":
		return queueCmd(args, stdout, stderr)
	case "reindex":
		return reindexCmd(ctx, args, stdout, stderr)
	case "service":
		return serviceCmd(args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, versionString())
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "fakesmtp: unknown command %q\n\n", cmd)
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage:
  fakesmtp [serve] [flags]      receive mail (default: dev mode on 127.0.0.1:2525)
  fakesmtp check-config [flags] validate the settings and show where each came from
  fakesmtp traps list|add IP [reason]|remove IP [flags]
                                show or edit the spam-trap list
  fakesmtp export --format mbox|maildir --to PATH [--since 24h] [flags]
                                write stored messages to an mbox or a Maildir
  fakesmtp queue list|retry ID...|delete ID... [--all] [flags]
                                show or edit the relay queue
  fakesmtp reindex [flags]      rebuild the message index from the message files
  fakesmtp service install|uninstall|start|stop [serve flags]
                                the Windows service (Windows only)
  fakesmtp version              print the version

Flags of serve and check-config:
  --config FILE      TOML settings, or a legacy FakeSMTP.exe.config
  --mode M           dev (default), proxy, collector, fakemx
  --set key=value    any setting (repeatable)
  --<key> value      one flag per setting, e.g. --listen 0.0.0.0:2525 --max-sessions 50

Every setting can also come from the environment as FAKESMTP_<KEY>.
Run "fakesmtp serve -h" for the list of settings.
`)
}

func versionString() string {
	v := version
	if v == "" {
		v = "(devel)"
		if bi, ok := debug.ReadBuildInfo(); ok {
			if bi.Main.Version != "" {
				v = bi.Main.Version
			}
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					v += " " + s.Value[:12]
				}
			}
		}
	}
	return fmt.Sprintf("fakesmtp %s %s %s/%s", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// discardLogger is a logger for commands that report on stdout/stderr
// themselves.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
