// Command bench prints zoomwatch's performance table (make bench): detector throughput and
// allocations from the internal/detect benchmarks, the JSON-decode-only baseline, the poller
// draining the simulator's backlog into the emulator's Kinesis, and each Lambda function's
// binary size and time from process start to ready. It runs from the repository root with
// the AWS emulator started by tools/with-kumo.sh, after make build.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// functions are the Lambda functions, as under functions/ and dist/.
var functions = []string{"poller", "detector", "oauth"}

const startRuns = 5

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	goBin := cmpOr(os.Getenv("GO"), "go")
	fmt.Printf("## zoomwatch performance (%s, %d CPUs: %s, %s/%s)\n\n", time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), cpuModel(), runtime.GOOS, runtime.GOARCH)

	// Detector and decode baseline.
	out, err := command(ctx, nil, goBin, "test", "-run=^$", "-bench=^Benchmark(Detect|DecodeOnly)$", "-benchmem", "./internal/detect/")
	if err != nil {
		return fmt.Errorf("detector benchmarks: %w\n%s", err, out)
	}
	fmt.Println("### Detector (one core per benchmark; raw Kinesis record bytes → alerts, all shipped rules)")
	fmt.Println()
	fmt.Println("| benchmark | events/s | other metrics |")
	fmt.Println("|---|---:|---|")
	for _, b := range parseBench(out) {
		var other []string
		for _, m := range b.metrics {
			if m.unit != "events/s" && m.unit != "ns/op" {
				other = append(other, m.value+" "+m.unit)
			}
		}
		fmt.Printf("| %s | %s | %s |\n", b.name, b.metric("events/s"), strings.Join(other, ", "))
	}
	fmt.Println()

	// Poller drain.
	out, err = command(ctx, []string{"ZOOMWATCH_BENCH=1"}, goBin, "test", "-count=1", "-v", "-timeout=20m", "-run=^TestDrainBench$", "./internal/faults/")
	if err != nil {
		return fmt.Errorf("poller drain: %w\n%s", err, out)
	}
	fmt.Println("### Poller drain (simulator: 179 days with 300 extra users, about 100,000 records of both log types, 50 ms per request, 20 requests/s account limit → emulator's Kinesis)")
	fmt.Println()
	fmt.Println("| pacing (poll/max_rps) | records | requests | wall | rate-limit bound (requests/20) | strictly sequential (requests × 50 ms) | over bound | 429s | peak Go heap (baseline) |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "bench-drain: ")
		if !ok {
			continue
		}
		f := fields(rest)
		fmt.Printf("| %s (%s) | %s | %s | %s | %s | %s | %s | %s | %s MB (%s MB) |\n", f["max_rps"], f["name"], f["delivered"], f["requests"],
			f["wall"], f["bound"], f["sequential"], f["over_bound"], f["zoom_429"], f["peak_heap_mb"], f["baseline_heap_mb"])
	}
	fmt.Println()

	// Lambda binaries.
	starts, err := startTimes(ctx, goBin)
	if err != nil {
		return fmt.Errorf("start times: %w", err)
	}
	fmt.Println("### Lambda functions (size: dist/<fn>/bootstrap, linux/arm64, stripped; start: process start to first /next request to a local runtime API, median of 5, host build)")
	fmt.Println()
	fmt.Println("| function | binary size | start to ready |")
	fmt.Println("|---|---:|---:|")
	for _, fn := range functions {
		size := "not built (make build)"
		if st, err := os.Stat(filepath.Join("dist", fn, "bootstrap")); err == nil {
			size = fmt.Sprintf("%.1f MB", float64(st.Size())/(1<<20))
		}
		fmt.Printf("| %s | %s | %s |\n", fn, size, starts[fn])
	}
	return nil
}

// command runs a command from the repository root and returns its combined output.
func command(ctx context.Context, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.String(), err
}

type metric struct{ value, unit string }

type benchResult struct {
	name    string
	metrics []metric
}

func (b benchResult) metric(unit string) string {
	for _, m := range b.metrics {
		if m.unit == unit {
			return m.value
		}
	}
	return "–"
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+\d+\s+(.*)$`)

// parseBench reads `go test -bench` output lines: name, iterations, then value-unit pairs.
func parseBench(out string) []benchResult {
	var res []benchResult
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		b := benchResult{name: strings.TrimPrefix(m[1], "Benchmark")}
		f := strings.Fields(m[3])
		for i := 0; i+1 < len(f); i += 2 {
			b.metrics = append(b.metrics, metric{f[i], f[i+1]})
		}
		res = append(res, b)
	}
	return res
}

// fields splits "k=v k=v" into a map.
func fields(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Fields(s) {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// startTimes builds each function for this machine with the release flags and measures,
// startRuns times, how long the process takes from start until it asks a local Lambda
// runtime API for its first event: configuration read, clients built, rules compiled.
func startTimes(ctx context.Context, goBin string) (map[string]string, error) {
	dir, err := os.MkdirTemp("", "zoomwatch-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	setupSecret, err := setupSecret(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, fn := range functions {
		bin := filepath.Join(dir, fn)
		if o, err := command(ctx, []string{"CGO_ENABLED=0"}, goBin, "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", bin, "./functions/"+fn); err != nil {
			return nil, fmt.Errorf("build %s: %w\n%s", fn, err, o)
		}
		var runs []time.Duration
		for range startRuns {
			d, err := startOnce(ctx, bin, setupSecret)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", fn, err)
			}
			runs = append(runs, d)
		}
		slices.Sort(runs)
		out[fn] = fmt.Sprintf("%.1f ms", float64(runs[len(runs)/2].Microseconds())/1000)
	}
	return out, nil
}

// setupSecret creates the setup-token secret the oauth function reads at start, in the
// emulator.
func setupSecret(ctx context.Context) (string, error) {
	if os.Getenv("AWS_ENDPOINT_URL") == "" {
		return "", errors.New("no AWS emulator: run through tools/with-kumo.sh (make bench)")
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return "", err
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	token := hex.EncodeToString(b[:])
	value, _ := json.Marshal(map[string]string{"setup_token": token})
	sm := secretsmanager.NewFromConfig(cfg)
	res, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("bench-setup-" + token[:8]), SecretString: aws.String(string(value))})
	if err != nil {
		return "", fmt.Errorf("create setup secret: %w", err)
	}
	return aws.ToString(res.ARN), nil
}

// startOnce runs bin against a fake runtime API and returns the time to its first /next.
func startOnce(ctx context.Context, bin, setupSecret string) (time.Duration, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	ready := make(chan time.Time, 1)
	var once sync.Once
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/runtime/invocation/next") {
			once.Do(func() { ready <- time.Now() })
			<-r.Context().Done() // no event: the process is stopped while it waits
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})}
	go srv.Serve(ln)
	defer srv.Close()

	sources := `[{"id":"main","label":"bench","auth_type":"oauth","secret_id":"bench-source"}]`
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(),
		"AWS_LAMBDA_RUNTIME_API="+ln.Addr().String(), "ZOOMWATCH_STAGE=bench", "STATE_TABLE=bench-state",
		"SOURCES="+sources, "STREAM_NAME=bench-stream", "OPS_TOPIC_ARN=arn:aws:sns:us-east-1:000000000000:ops",
		"ALERTS_TOPIC_ARN=arn:aws:sns:us-east-1:000000000000:alerts", "SETUP_SECRET_ID="+setupSecret,
		"OAUTH_REDIRECT_URL=https://example.invalid/callback", "AWS_LAMBDA_FUNCTION_NAME=bench")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()
	select {
	case t := <-ready:
		return t.Sub(started), nil
	case err := <-exited:
		exited <- err
		return 0, fmt.Errorf("exited before asking for an event (%v): %s", err, stderr.String())
	case <-time.After(30 * time.Second):
		return 0, errors.New("not ready after 30s")
	}
}
