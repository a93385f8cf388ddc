package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// With this variable set, the test binary is the service: the drain tests
// start it as a process of its own and send it a real SIGTERM.
const beTheService = "CLINIC_SERVICE_UNDER_TEST"

func TestMain(m *testing.M) {
	if os.Getenv(beTheService) == "1" {
		os.Exit(run(os.Args[1:]))
	}
	os.Exit(m.Run())
}

const anUpload = `{"patientId":"SUBJ-00042","trialId":"EPRO-2024-07",` +
	`"reportData":"Dizzy after the second dose."}`

// client gives up on an answer after 5 s: an upload that waits on a full
// queue, instead of hearing 503 at once, fails the test.
var client = &http.Client{Timeout: 5 * time.Second}

// reply is what a client heard.
type reply struct {
	status     int
	retryAfter string
	body       map[string]string
}

func post(t *testing.T, url, contentType, body string) reply {
	t.Helper()
	r, err := tryPost(t, url, contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tryPost is post for a server that may have gone.
func tryPost(t *testing.T, url, contentType, body string) (reply, error) {
	t.Helper()
	resp, err := client.Post(url+"/api/epros/upload", contentType, strings.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	r := reply{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
	if got := resp.Header.Get("Content-Type"); got != "application/json" {
		t.Fatalf("%d answered with Content-Type %q, not JSON", r.status, got)
	}
	if err := json.NewDecoder(resp.Body).Decode(&r.body); err != nil {
		t.Fatalf("%d answered with a body that is not a JSON object: %v", r.status, err)
	}
	return r, nil
}

func TestAFullQueueAnswers503AtOnceWithJSON(t *testing.T) {
	// Two places and no workers: the third upload finds the queue full.
	in := newIntake(2, 0, 0, io.Discard)
	server := httptest.NewServer(in.routes())
	defer server.Close()
	// Before Close, which waits for every handler: empty the queue, so that
	// a handler stuck on its send (the bug this test is for) can return.
	defer func() {
		for {
			select {
			case <-in.queue:
			default:
				return
			}
		}
	}()

	for i := range 2 {
		r := post(t, server.URL, "application/json", anUpload)
		if r.status != http.StatusAccepted || r.body["status"] != "queued" || r.body["id"] == "" {
			t.Fatalf("upload %d: want 202 queued with an id, got %d %v", i+1, r.status, r.body)
		}
	}
	r := post(t, server.URL, "application/json", anUpload)
	if r.status != http.StatusServiceUnavailable || r.body["code"] != "queue_full" {
		t.Fatalf("upload 3: want 503 queue_full, got %d %v", r.status, r.body)
	}
	if !strings.Contains(r.body["message"], "All 2 places") || r.retryAfter != "1" {
		t.Fatalf("upload 3: the 503 should name the 2 places and say Retry-After 1, "+
			"got %q and Retry-After %q", r.body["message"], r.retryAfter)
	}
}

func TestBadUploadsAreRefusedWithTheirReason(t *testing.T) {
	server := httptest.NewServer(newIntake(8, 0, 0, io.Discard).routes())
	defer server.Close()

	for _, c := range []struct {
		contentType, body string
		status            int
		code, field       string
	}{
		{"text/plain", anUpload, 415, "unsupported_media_type", ""},
		{"application/json", `{"patientId":`, 400, "invalid_json", ""},
		{"application/json", `["SUBJ-1", "T-1", "fine"]`, 400, "invalid_json", ""},
		{"application/json", `{"patientId":"SUBJ-1","trialId":"T-1"}`, 422, "missing_field", "reportData"},
		{"application/json", `{"patientId":" ","trialId":"T-1","reportData":"ok"}`, 422, "missing_field", "patientId"},
		{"application/json", `{"reportData":"` + strings.Repeat("x", 70_000) + `"}`, 413, "body_too_large", ""},
	} {
		r := post(t, server.URL, c.contentType, c.body)
		if r.status != c.status || r.body["code"] != c.code || r.body["field"] != c.field {
			t.Errorf("%s %.40s: want %d %s %q, got %d %v",
				c.contentType, c.body, c.status, c.code, c.field, r.status, r.body)
		}
	}
}

// service is the service in a process of its own.
type service struct {
	cmd    *exec.Cmd
	url    string
	stderr strings.Builder
	store  string
}

func start(t *testing.T, args ...string) *service {
	t.Helper()
	s := &service{store: filepath.Join(t.TempDir(), "stored.txt")}
	args = append([]string{"--addr", "127.0.0.1:0", "--store", s.store}, args...)
	s.cmd = exec.Command(os.Args[0], args...)
	s.cmd.Env = append(os.Environ(), beTheService+"=1")
	s.cmd.Stderr = &s.stderr
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.cmd.Process.Kill() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		t.Fatalf("first line %q (%v), want \"listening on http://...\"", line, err)
	}
	s.url = url
	return s
}

// wait returns the exit status and stderr's last line.
func (s *service) wait(t *testing.T) (int, string) {
	t.Helper()
	err := s.cmd.Wait()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(s.stderr.String()), "\n")
	last := lines[len(lines)-1]
	// Drop log's date and time.
	if fields := strings.SplitN(last, " ", 3); len(fields) == 3 {
		last = fields[2]
	}
	return s.cmd.ProcessState.ExitCode(), last
}

func TestSigtermDrainsEveryAcceptedReport(t *testing.T) {
	// 20 reports of 0.2 s each for 2 workers: a 2 s drain.
	s := start(t, "--queue", "64", "--workers", "2", "--work-ms", "200")
	accepted := map[string]bool{}
	for range 20 {
		r := post(t, s.url, "application/json", anUpload)
		if r.status != http.StatusAccepted {
			t.Fatalf("want 202, got %d %v", r.status, r.body)
		}
		accepted[r.body["id"]] = true
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// While the queue drains, the service still answers: 503 shutting_down.
	deadline := time.Now().Add(2 * time.Second)
	for {
		r, err := tryPost(t, s.url, "application/json", anUpload)
		if err != nil {
			t.Fatalf("after SIGTERM the service stopped answering before it said "+
				"503 shutting_down (did it wait for its queue?): %v", err)
		}
		if r.status == http.StatusServiceUnavailable && r.body["code"] == "shutting_down" {
			break
		}
		if r.status != http.StatusAccepted || time.Now().After(deadline) {
			t.Fatalf("after SIGTERM: want 503 shutting_down, got %d %v", r.status, r.body)
		}
		// Accepted before the signal arrived: it must be stored too.
		accepted[r.body["id"]] = true
	}

	status, last := s.wait(t)
	want := fmt.Sprintf("accepted %d, stored %[1]d, lost 0", len(accepted))
	if status != 0 || last != want {
		t.Fatalf("exit %d, last line %q; want exit 0, %q", status, last, want)
	}
	stored, err := os.ReadFile(s.store)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(stored)), "\n")
	if len(lines) != len(accepted) {
		t.Fatalf("%d reports accepted, %d stored", len(accepted), len(lines))
	}
	for _, line := range lines {
		id := strings.Fields(line)[1]
		if !accepted[id] {
			t.Fatalf("stored %s, which was not accepted (or was stored twice)", id)
		}
		delete(accepted, id)
	}
}

func TestADrainPastItsDeadlineSaysWhatItLost(t *testing.T) {
	// 10 reports of 5 s each for 1 worker, 0.5 s to drain: all 10 lost.
	s := start(t, "--workers", "1", "--work-ms", "5000", "--drain-timeout", "500ms")
	for range 10 {
		if r := post(t, s.url, "application/json", anUpload); r.status != http.StatusAccepted {
			t.Fatalf("want 202, got %d %v", r.status, r.body)
		}
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	status, last := s.wait(t)
	if want := "accepted 10, stored 0, lost 10"; status != 2 || last != want {
		t.Fatalf("exit %d, last line %q; want exit 2, %q", status, last, want)
	}
}
