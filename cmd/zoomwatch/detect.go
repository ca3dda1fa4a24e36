package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/zoomwatch/zoomwatch/internal/detect"
	"github.com/zoomwatch/zoomwatch/internal/rules"
)

// detectBatchLines is how many input records travel to a worker together: large enough to
// amortise channel hand-offs, small enough to keep memory constant.
const detectBatchLines = 1024

// maxRecordBytes bounds one input line; Zoom records are a few hundred bytes and report pages
// at most a few hundred records.
const maxRecordBytes = 64 << 20

// detectMemoryLimit is the soft heap limit of a detect run (unless GOMEMLIMIT sets one). The
// grouping state grows with the input's distinct keys and events; without a limit the
// collector lets the heap reach twice the live data before collecting, which on a
// million-line file came close to the 100 MB the command promises.
const detectMemoryLimit = 64 << 20

func runDetect(ctx context.Context, s streams, args []string) error {
	fset := flag.NewFlagSet("detect", flag.ContinueOnError)
	fset.SetOutput(s.stderr)
	noDedup := fset.Bool("no-dedup", false, "print one alert per matching event (no grouping, thresholds or first-seen)")
	rulesDir := fset.String("rules", "", "also load the rule files in `DIR`")
	workers := fset.Int("workers", runtime.GOMAXPROCS(0), "evaluate on `N` goroutines")
	source := fset.String("source", "cli", "source `name` for raw records (envelopes name their own)")
	tuningFile := fset.String("tuning", "", "JSON `FILE` of rule tuning, named as in SSM (e.g. {\"rules/Zoom.SignIn.New.IP.For.Admin\": {\"learn_days\": 0}})")
	fset.Usage = func() {
		fmt.Fprintln(s.stderr, "usage: zoomwatch detect [--no-dedup] [--rules DIR] [--tuning FILE] [--workers N] [FILE...]")
		fmt.Fprintln(s.stderr, "Reads Zoom records, envelopes, report pages, JSON arrays or JSON lines (stdin without FILE or with -)")
		fmt.Fprintln(s.stderr, "and prints alerts as JSON lines.")
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &usageError{msg: err.Error()}
	}
	if *workers < 1 {
		return &usageError{msg: fmt.Sprintf("--workers must be at least 1, got %d", *workers)}
	}
	params, err := readTuning(*tuningFile)
	if err != nil {
		return err
	}
	rs, err := tunedRuleSet(*rulesDir, params)
	if err != nil {
		return err
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(detectMemoryLimit))
	}
	eng := detect.NewEngine(rs, detect.NewMemState(), detect.Options{
		NoDedup: *noDedup, Source: *source, Logger: newLogger(s.stderr, slog.LevelWarn),
	})
	out := bufio.NewWriterSize(s.stdout, 64<<10)
	defer out.Flush()
	files := fset.Args()
	if len(files) == 0 {
		files = []string{"-"}
	}
	malformed := 0
	for _, name := range files {
		n, err := detectFile(ctx, eng, name, s, out, *workers)
		malformed += n
		if err != nil {
			return err
		}
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("write alerts: %w", err)
	}
	noteLearning(s.stderr, "zoomwatch detect", eng, nil)
	if malformed > 0 {
		return fmt.Errorf("%d malformed record(s) skipped", malformed)
	}
	return nil
}

// loadRuleSet loads the shipped rules plus those in dir, if any.
func loadRuleSet(dir string) (*detect.RuleSet, error) {
	rs, err := detect.LoadFS(rules.FS(), ".")
	if err != nil {
		return nil, fmt.Errorf("load shipped rules: %w", err)
	}
	if dir == "" {
		return rs, nil
	}
	extra, err := detect.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load rules from %s: %w", dir, err)
	}
	return rs.Merge(extra)
}

func detectFile(ctx context.Context, eng *detect.Engine, name string, s streams, out *bufio.Writer, workers int) (int, error) {
	var r io.Reader = s.stdin
	label := "stdin"
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return 0, fmt.Errorf("open input: %w", err)
		}
		defer f.Close()
		r, label = f, name
	}
	return detectStream(ctx, eng, label, r, out, s.stderr, workers)
}

// inputBatch is a run of records copied out of the input; items index into buf.
type inputBatch struct {
	seq   int
	buf   []byte
	items []inputItem
}

type inputItem struct {
	line       int // 1-based line, or record number in array/stream input
	start, end int
	// err is a record the reader already knows is malformed.
	err error
}

// batchResult is what a worker found in one batch, in input order.
type batchResult struct {
	seq     int
	results []itemResult
}

type itemResult struct {
	line    int
	matches []detect.Match
	err     error
}

// detectStream reads one input, evaluates its records on workers goroutines and prints alerts
// in input order. Memory stays constant: at most 2*workers+1 batches exist at a time.
func detectStream(ctx context.Context, eng *detect.Engine, label string, r io.Reader, out, errOut io.Writer, workers int) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	free := make(chan *inputBatch, 2*workers+1)
	for i := 0; i < cap(free); i++ {
		free <- &inputBatch{buf: make([]byte, 0, 256<<10), items: make([]inputItem, 0, detectBatchLines)}
	}
	todo := make(chan *inputBatch, workers)
	done := make(chan batchResult, workers)
	var readErr error
	go func() {
		defer close(todo)
		readErr = readRecords(ctx, r, free, todo)
	}()
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := eng.NewWorker()
			// The loop below decides every match in input order, acknowledging each alert as
			// it is written, and stops at the first error: the worker may drop repeats of
			// tuples whose first match that loop has not reached yet.
			w.DecideInOrder()
			for b := range todo {
				res := batchResult{seq: b.seq}
				var matches []detect.Match
				for _, it := range b.items {
					if it.err != nil {
						res.results = append(res.results, itemResult{line: it.line, err: it.err})
						continue
					}
					var err error
					matches, err = w.EvalJSON(ctx, b.buf[it.start:it.end], matches[:0])
					if err != nil || len(matches) > 0 {
						res.results = append(res.results, itemResult{line: it.line, matches: append([]detect.Match(nil), matches...), err: err})
					}
				}
				free <- b
				done <- res
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()

	malformed := 0
	pending := map[int]batchResult{}
	next := 0
	var outErr error
	for res := range done {
		pending[res.seq] = res
		for {
			res, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			for _, ir := range res.results {
				if ir.err != nil {
					// A page with a bad record still yields its good records' alerts.
					malformed++
					fmt.Fprintf(errOut, "zoomwatch detect: %s:%d: skipped: %v\n", label, ir.line, ir.err)
				}
				for _, m := range ir.matches {
					if outErr != nil {
						break
					}
					a, err := eng.Decide(ctx, m)
					if err != nil {
						outErr = err
						cancel()
						break
					}
					if a == nil {
						continue
					}
					b, err := a.JSON()
					if err == nil {
						_, err = out.Write(append(b, '\n'))
					}
					if err == nil {
						// Written is delivered: a repeat of the same event must not raise it again.
						err = eng.Ack(ctx, *a)
					}
					if err != nil {
						outErr = fmt.Errorf("write alert: %w", err)
						cancel()
					}
				}
			}
			if f, ok := out.(interface{ Flush() error }); ok && outErr == nil {
				if err := f.Flush(); err != nil {
					outErr = fmt.Errorf("write alerts: %w", err)
					cancel()
				}
			}
		}
	}
	if outErr != nil {
		return malformed, outErr
	}
	if readErr != nil && !errors.Is(readErr, context.Canceled) {
		return malformed, fmt.Errorf("read %s: %w", label, readErr)
	}
	return malformed, ctx.Err()
}

// readRecords splits the input into records and sends them in batches. JSON lines are the
// fast path; input starting with '[' or holding multi-line JSON values is read with a
// streaming decoder (one element in memory at a time).
func readRecords(ctx context.Context, r io.Reader, free <-chan *inputBatch, todo chan<- *inputBatch) error {
	br := bufio.NewReaderSize(r, 256<<10)
	seq := 0
	var b *inputBatch
	take := func() error {
		select {
		case b = <-free:
			b.seq, b.buf, b.items = seq, b.buf[:0], b.items[:0]
			seq++
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	flush := func() error {
		if b == nil || len(b.items) == 0 {
			return nil
		}
		select {
		case todo <- b:
			b = nil
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	add := func(line int, rec []byte, recErr error) error {
		if b == nil {
			if err := take(); err != nil {
				return err
			}
		}
		start := len(b.buf)
		b.buf = append(b.buf, rec...)
		b.items = append(b.items, inputItem{line: line, start: start, end: len(b.buf), err: recErr})
		// Hand over a full batch, or a partial one when the next read would block, so
		// alerts for interactive input are not held back.
		if len(b.items) >= detectBatchLines || len(b.buf) >= 4<<20 || br.Buffered() == 0 {
			return flush()
		}
		return nil
	}
	first, err := peekNonSpace(br)
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return err
	}
	if first == '[' {
		return errors.Join(readDecoder(br, add, true), flush())
	}
	line := 0
	for {
		text, err := readLine(br)
		if len(text) > 0 || err == nil {
			line++
		}
		trimmed := bytes.TrimSpace(text)
		switch {
		case len(trimmed) == 0:
		case line == 1 && trimmed[0] == '{' && !json.Valid(trimmed):
			// A pretty-printed object (or page): decode the rest as a stream of values.
			rest := io.MultiReader(bytes.NewReader(append(append([]byte(nil), text...), '\n')), br)
			return errors.Join(readDecoder(bufio.NewReader(rest), add, false), flush())
		case errors.Is(err, bufio.ErrBufferFull):
			if aerr := add(line, nil, fmt.Errorf("line longer than %d bytes", maxRecordBytes)); aerr != nil {
				return aerr
			}
		default:
			if aerr := add(line, trimmed, nil); aerr != nil {
				return aerr
			}
		}
		if err == io.EOF {
			return flush()
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return errors.Join(err, flush())
		}
	}
}

// readLine returns the next line without its newline. A line over maxRecordBytes is skipped
// to its end and reported with bufio.ErrBufferFull.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == nil {
		return line[:len(line)-1], nil
	}
	if !errors.Is(err, bufio.ErrBufferFull) {
		return line, err
	}
	long := append([]byte(nil), line...)
	for errors.Is(err, bufio.ErrBufferFull) {
		line, err = br.ReadSlice('\n')
		if len(long) <= maxRecordBytes {
			long = append(long, line...)
		}
	}
	if len(long) > maxRecordBytes {
		if err == nil || err == io.EOF {
			return nil, bufio.ErrBufferFull
		}
		return nil, err
	}
	return bytes.TrimSuffix(long, []byte("\n")), err
}

// readDecoder reads a JSON array of records (inArray) or a stream of JSON values; numbers in
// messages count records. A syntax error ends the input, since the decoder cannot resync.
func readDecoder(r io.Reader, add func(int, []byte, error) error, inArray bool) error {
	dec := json.NewDecoder(r)
	if inArray {
		if _, err := dec.Token(); err != nil {
			return add(1, nil, fmt.Errorf("not a JSON array: %w", err))
		}
	}
	for n := 1; ; n++ {
		if inArray && !dec.More() {
			return nil
		}
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF && !inArray {
			return nil
		}
		if err != nil {
			return add(n, nil, fmt.Errorf("record %d: %w (rest of input skipped)", n, err))
		}
		if err := add(n, raw, nil); err != nil {
			return err
		}
	}
}

func peekNonSpace(br *bufio.Reader) (byte, error) {
	for {
		c, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c, br.UnreadByte()
		}
	}
}
