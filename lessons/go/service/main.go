// Command service is the first article's ePRO intake in Go, standard library
// only, with the article's shutdown fixed.
//
//	POST /api/epros/upload  {"patientId", "trialId", "reportData"}
//	  202 {"id", "status": "queued"}    in the queue
//	  503 queue_full    + Retry-After   the queue is full: nothing saved
//	  503 shutting_down + Retry-After   draining before exit
//	  4xx {"code", "message", "field"}  bad input
//
// A handler puts the report in a buffered channel with a select and a
// default (the 503 when it is full), and answers at once; a pool of worker
// goroutines takes reports off the channel.
//
// The article's shutdown hook closed the channel and returned: nothing waited
// for the workers, so the process could exit with reports still queued. Here
// SIGTERM (or Ctrl-C) stops the uploads (503 shutting_down), closes the
// channel once no handler can send on it any more, waits for the workers to
// empty it (at most --drain-timeout), and says what it did on stderr:
// "accepted N, stored N, lost 0". If reports were lost, the exit status is 2.
// A second SIGTERM or Ctrl-C during the drain ends the process at once.
//
// The first line on stdout is "listening on http://ADDR", as the
// playground's, so accept_bench can start either one. There is no database:
// --work-ms stands for de-identifying, scoring and storing a report, and
// --store names a file that gets a line per stored report.
//
// Run: go run ./lessons/go/service --addr 127.0.0.1:0 --queue 8 --work-ms 500
// Rust: cargo run -p playground -- --intake memory (playground/src/designs/)
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"mime"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// maxBody is the largest upload accepted (413 above it), as the playground's.
const maxBody = 64 << 10

func main() {
	os.Exit(run(os.Args[1:]))
}

// run serves until SIGTERM or Ctrl-C, drains, and returns the exit status.
func run(args []string) int {
	flags := flag.NewFlagSet("service", flag.ContinueOnError)
	addr := flags.String("addr", "127.0.0.1:3000", "address to listen on; port 0 picks a free one")
	queue := flags.Int("queue", 1024, "places in the queue; when all are taken, uploads get 503")
	workers := flags.Int("workers", 8, "worker goroutines; 0 leaves every report queued")
	workMs := flags.Int("work-ms", 0, "milliseconds a worker spends on each report")
	store := flags.String("store", "", "file that gets a line per stored report")
	drainTimeout := flags.Duration("drain-timeout", 30*time.Second, "how long SIGTERM waits for the queue to empty")
	if err := flags.Parse(args); err != nil {
		return 64
	}
	if *queue < 1 || *workers < 0 || *workMs < 0 {
		log.Print("--queue must be at least 1, --workers and --work-ms at least 0")
		return 64
	}
	stored := io.Discard
	if *store != "" {
		file, err := os.Create(*store)
		if err != nil {
			log.Print(err)
			return 1
		}
		defer file.Close()
		stored = file
	}

	// Registered before the address is printed: a SIGTERM sent as soon as
	// the address is known is a drain, never the default exit.
	signals, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	in := newIntake(*queue, *workers, time.Duration(*workMs)*time.Millisecond, stored)
	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Print(err)
		return 1
	}
	fmt.Printf("listening on http://%s\n", listener.Addr())
	server := &http.Server{
		Handler: in.routes(),
		// A client gets 10 s to send its request, and an idle connection
		// stays open 10 s, as with the playground's --client-timeout.
		ReadTimeout: 10 * time.Second,
		IdleTimeout: 10 * time.Second,
	}
	go server.Serve(listener)

	<-signals.Done()
	// From here a second Ctrl-C or SIGTERM ends the process at once.
	stop()
	log.Print("shutting down: no new uploads, draining the queue")
	lost := in.drain(*drainTimeout)
	// The server answered 503 shutting_down while the queue drained; now it
	// stops, letting the requests in progress finish.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	server.Shutdown(ctx)
	log.Printf("accepted %d, stored %d, lost %d", in.accepted.Load(), in.stored.Load(), lost)
	if lost > 0 {
		return 2
	}
	return 0
}

// A report is an accepted upload with its id.
type report struct {
	id     string
	upload upload
}

// upload is what a patient sends.
type upload struct {
	PatientID  string `json:"patientId"`
	TrialID    string `json:"trialId"`
	ReportData string `json:"reportData"`
}

// intake is the queue, the workers that empty it and what they did.
type intake struct {
	queue   chan *report
	workers sync.WaitGroup
	work    time.Duration

	// mu lets many handlers send at once (read lock) and shutdown close the
	// queue alone (write lock): a send on a closed channel panics, so the
	// queue closes only when no handler is between its check and its send.
	mu     sync.RWMutex
	closed bool

	storeMu sync.Mutex
	store   io.Writer

	accepted, stored atomic.Int64
}

func newIntake(places, workers int, work time.Duration, store io.Writer) *intake {
	in := &intake{queue: make(chan *report, places), work: work, store: store}
	for range workers {
		in.workers.Add(1)
		go in.worker()
	}
	return in
}

func (in *intake) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/epros/upload", in.upload)
	return mux
}

// upload checks the body, queues the report and answers at once.
func (in *intake) upload(w http.ResponseWriter, r *http.Request) {
	u, problem := parse(w, r)
	if problem != nil {
		problem.write(w)
		return
	}
	rep := &report{id: rand.Text(), upload: u}
	switch in.offer(rep) {
	case queued:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"id":%q,"status":"queued"}`, rep.id)
	case full:
		(&apiError{http.StatusServiceUnavailable, "queue_full", fmt.Sprintf(
			"All %d places in the intake queue are taken. Nothing was saved; "+
				"please send the report again in a moment.", cap(in.queue)), "", 1}).write(w)
	case closing:
		shuttingDown.write(w)
	}
}

// What became of an upload.
type verdict int

const (
	queued verdict = iota
	full
	closing
)

// offer puts a report in the queue if there is room and it is still open.
func (in *intake) offer(rep *report) verdict {
	in.mu.RLock()
	defer in.mu.RUnlock()
	if in.closed {
		return closing
	}
	// The article's select: a place in the queue, or the default at once.
	select {
	case in.queue <- rep:
		in.accepted.Add(1)
		return queued
	default:
		return full
	}
}

// worker takes reports until the queue is closed and empty.
func (in *intake) worker() {
	defer in.workers.Done()
	for rep := range in.queue {
		// De-identify, score, store: here, only the time they take.
		time.Sleep(in.work)
		in.storeMu.Lock()
		fmt.Fprintf(in.store, "stored %s %s\n", rep.id, rep.upload.PatientID)
		in.storeMu.Unlock()
		in.stored.Add(1)
	}
}

// drain stops the uploads, closes the queue and waits for the workers to
// empty it, at most timeout. It returns how many accepted reports are not
// stored.
func (in *intake) drain(timeout time.Duration) int64 {
	in.mu.Lock()
	in.closed = true
	close(in.queue)
	in.mu.Unlock()

	// What the article left out: wait for the workers.
	done := make(chan struct{})
	go func() {
		in.workers.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(timeout):
		log.Printf("the queue did not drain in %s", timeout)
	}
	return in.accepted.Load() - in.stored.Load()
}

// parse reads and checks an upload, or says what is wrong with it.
func parse(w http.ResponseWriter, r *http.Request) (upload, *apiError) {
	var u upload
	media, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if media != "application/json" {
		return u, &apiError{http.StatusUnsupportedMediaType, "unsupported_media_type",
			"Send the report as JSON, with the header Content-Type: application/json.", "", 0}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if tooLarge := new(http.MaxBytesError); errors.As(err, &tooLarge) {
		return u, &apiError{http.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("The request body is over the %d KiB limit.", maxBody>>10), "", 0}
	} else if err != nil {
		return u, &apiError{http.StatusBadRequest, "unreadable_body",
			"The request body could not be read.", "", 0}
	}
	if err := json.Unmarshal(body, &u); err != nil {
		return u, &apiError{http.StatusBadRequest, "invalid_json",
			"The body is not a JSON object with patientId, trialId and reportData.", "", 0}
	}
	for _, field := range []struct{ name, value string }{
		{"patientId", u.PatientID}, {"trialId", u.TrialID}, {"reportData", u.ReportData},
	} {
		if strings.TrimSpace(field.value) == "" {
			return u, &apiError{http.StatusUnprocessableEntity, "missing_field",
				field.name + " is missing or empty.", field.name, 0}
		}
	}
	return u, nil
}

// apiError is every error a client can see: a status, a stable code, a
// sentence, the field at fault if one is.
type apiError struct {
	status     int
	code       string
	message    string
	field      string
	retryAfter int
}

var shuttingDown = &apiError{http.StatusServiceUnavailable, "shutting_down",
	"The service is shutting down and takes no new reports. Nothing was saved; " +
		"please send the report again shortly.", "", 5}

func (e *apiError) write(w http.ResponseWriter) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(e.retryAfter))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	json.NewEncoder(w).Encode(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	}{e.code, e.message, e.field})
}
