//go:build windows

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"
)

// serviceName is the Windows service's name, as in "sc query fakesmtp".
const serviceName = "fakesmtp"

// runAsService runs serve under the Windows service manager when the
// process was started by it, and reports whether it did.
func runAsService(args []string, stdout, stderr io.Writer) (int, bool) {
	is, err := svc.IsWindowsService()
	if err != nil || !is {
		return 0, false
	}
	h := &serviceHandler{args: args, stdout: stdout, stderr: stderr}
	if err := svc.Run(serviceName, h); err != nil {
		logEvent("fakesmtp service failed: " + err.Error())
		return 1, true
	}
	return h.code, true
}

// logEvent writes an error to the Windows event log, the only place a
// service's failure is seen when it has no log_path or failed before
// opening it.
func logEvent(msg string) {
	if el, err := eventlog.Open(serviceName); err == nil {
		el.Error(1, msg)
		el.Close()
	}
}

// tailSize bounds what tailWriter keeps: the reason serve stopped is the
// last thing it writes, and without log_path its logs, which can be long,
// go to the same stderr.
const tailSize = 8 << 10

// tailWriter keeps the last tailSize bytes written to it. It collects
// serve's stderr, which a service does not have, so that the error a
// failed start prints (a port in use, a bad setting) reaches the event log.
type tailWriter struct {
	mu  sync.Mutex // serve's goroutines log concurrently
	buf []byte
}

// Write keeps p's end. It never fails, so io.MultiWriter goes on to the
// real stderr.
func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - tailSize; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// String returns what is kept.
func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

type serviceHandler struct {
	args           []string
	stdout, stderr io.Writer
	code           int
}

// Execute runs serve until the service manager says stop or shutdown;
// cancelling serve's context is the same graceful stop as SIGTERM.
func (h *serviceHandler) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	// The tail first: io.MultiWriter stops at the first failing writer,
	// and a service's stderr is usually an invalid handle.
	tail := &tailWriter{}
	stderr := io.MultiWriter(tail, h.stderr)
	go func() { done <- serve(ctx, h.args, h.stdout, stderr) }()
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for {
		select {
		case code := <-done:
			h.code = code
			cancel()
			if code == 0 {
				return false, 0
			}
			logEvent(fmt.Sprintf("fakesmtp serve exited with code %d:\n%s", code, tail.String()))
			// A service-specific exit code: with false, the service
			// manager would read the code as a Win32 error (2 shows as
			// ERROR_FILE_NOT_FOUND).
			return true, uint32(code)
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending}
				cancel()
			}
		}
	}
}

// serviceCmd installs, removes, starts or stops the Windows service. The
// arguments after the action are the serve flags the service runs with
// (e.g. --config C:\fakesmtp\fakesmtp.toml --log-path C:\fakesmtp\logs).
func serviceCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: fakesmtp service install|uninstall|start|stop [serve flags]")
		return 2
	}
	m, err := mgr.Connect()
	if err != nil {
		fmt.Fprintf(stderr, "fakesmtp service: %v (run as Administrator)\n", err)
		return 1
	}
	defer m.Disconnect()
	switch args[0] {
	case "install":
		exe, err := os.Executable()
		if err != nil {
			fmt.Fprintf(stderr, "fakesmtp service: %v\n", err)
			return 1
		}
		exe, _ = filepath.Abs(exe)
		s, err := m.CreateService(serviceName, exe, mgr.Config{
			DisplayName: "fakesmtp SMTP receiver",
			Description: "Receives mail over SMTP: test catcher, pickup-folder proxy, spam collector or fake MX.",
			StartType:   mgr.StartAutomatic,
		}, append([]string{"serve"}, args[1:]...)...)
		if err != nil {
			fmt.Fprintf(stderr, "fakesmtp service: install: %v\n", err)
			return 1
		}
		s.Close()
		eventlog.InstallAsEventCreate(serviceName, eventlog.Error|eventlog.Warning|eventlog.Info)
		fmt.Fprintf(stdout, "service %s installed: %s serve %v\n", serviceName, exe, args[1:])
	case "uninstall":
		s, err := m.OpenService(serviceName)
		if err != nil {
			fmt.Fprintf(stderr, "fakesmtp service: %v\n", err)
			return 1
		}
		defer s.Close()
		if err := s.Delete(); err != nil {
			fmt.Fprintf(stderr, "fakesmtp service: uninstall: %v\n", err)
			return 1
		}
		eventlog.Remove(serviceName)
		fmt.Fprintf(stdout, "service %s removed\n", serviceName)
	case "start":
		s, err := m.OpenService(serviceName)
		if err != nil {
			fmt.Fprintf(stderr, "fakesmtp service: %v\n", err)
			return 1
		}
		defer s.Close()
		if err := s.Start(); err != nil {
			fmt.Fprintf(stderr, "fakesmtp service: start: %v\n", err)
			return 1
		}
	case "stop":
		s, err := m.OpenService(serviceName)
		if err != nil {
			fmt.Fprintf(stderr, "fakesmtp service: %v\n", err)
			return 1
		}
		defer s.Close()
		st, err := s.Control(svc.Stop)
		if err != nil {
			fmt.Fprintf(stderr, "fakesmtp service: stop: %v\n", err)
			return 1
		}
		for deadline := time.Now().Add(30 * time.Second); st.State != svc.Stopped && time.Now().Before(deadline); {
			time.Sleep(300 * time.Millisecond)
			if st, err = s.Query(); err != nil {
				break
			}
		}
	default:
		fmt.Fprintf(stderr, "fakesmtp service: unknown action %q\n", args[0])
		return 2
	}
	return 0
}
