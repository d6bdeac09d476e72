// acmez-bench: the strongest peer of the issuance benchmark (issue 22): acmez, the ACME engine
// under Caddy's certmagic, keeping its state in memory in one process, obtaining N certificates
// with W concurrent workers against the same Pebble and the same DNS as the service (its dns-01
// solver publishes through pebble-challtestsrv's management API). Prints one line of figures;
// exits 1 when any certificate was not obtained (then no figure is worth comparing).
//
// Where the time goes, per certificate (p50/p95 over the certificates): "order" from the start
// to the solver's Present (newOrder, the authorization fetched), "publish" the Present call
// itself (set-txt at challtestsrv), "validate" from Present's end to CleanUp (the challenge
// answered, Pebble's validation, acmez's authorization polls every 250 ms), "finalize" from
// CleanUp's end to the certificate (finalize, order polls, download). Beside them every request
// to the CA by kind (Pebble's path), with its count and mean duration.
//
//	acmez-bench -dir URL -ca PEM -dnsapi URL [-n 100] [-workers 16] [-profile default] [-label x]
package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mholt/acmez/v3"
	"github.com/mholt/acmez/v3/acme"
)

var (
	directory = flag.String("dir", "", "ACME directory URL")
	caFile    = flag.String("ca", "", "PEM file to trust for the CA")
	dnsAPI    = flag.String("dnsapi", "", "pebble-challtestsrv management URL")
	count     = flag.Int("n", 100, "certificates")
	workers   = flag.Int("workers", 16, "concurrent orders")
	profile   = flag.String("profile", "default", "CA profile each order names (\"\": none)")
	label     = flag.String("label", "acmez", "first label of the names")
)

// dnsSolver publishes the dns-01 value at challtestsrv (RFC 8555 §8.4) and removes it after,
// noting when each step began and ended for the per-certificate phases.
type dnsSolver struct {
	client *http.Client
	marks  *sync.Map // name -> *marks
}

// marks: when a certificate's solver steps happened (written by one worker only).
type marks struct{ presentBegun, presentDone, cleanUpBegun, cleanUpDone time.Time }

func (s dnsSolver) marksOf(challenge acme.Challenge) *marks {
	m, _ := s.marks.LoadOrStore(challenge.Identifier.Value, &marks{})
	return m.(*marks)
}

func (s dnsSolver) call(ctx context.Context, path string, body map[string]string) error {
	payload, _ := json.Marshal(body)
	request, err := http.NewRequestWithContext(ctx, http.MethodPost, *dnsAPI+path, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	response, err := s.client.Do(request)
	if err != nil {
		return err
	}
	response.Body.Close()
	if response.StatusCode != http.StatusOK {
		return fmt.Errorf("challtestsrv %s: %s", path, response.Status)
	}
	return nil
}

func (s dnsSolver) Present(ctx context.Context, challenge acme.Challenge) error {
	m := s.marksOf(challenge)
	m.presentBegun = time.Now()
	defer func() { m.presentDone = time.Now() }()
	return s.call(ctx, "/set-txt", map[string]string{
		"host": challenge.DNS01TXTRecordName() + ".", "value": challenge.DNS01KeyAuthorization()})
}

func (s dnsSolver) CleanUp(ctx context.Context, challenge acme.Challenge) error {
	m := s.marksOf(challenge)
	m.cleanUpBegun = time.Now()
	defer func() { m.cleanUpDone = time.Now() }()
	return s.call(ctx, "/clear-txt", map[string]string{"host": challenge.DNS01TXTRecordName() + "."})
}

// timedTransport counts the requests to the CA and their time by kind: the first segment of
// Pebble's path (order-plz = newOrder, authZ, chalZ, finalize-order, my-order, certZ, ...).
type timedTransport struct {
	next  http.RoundTripper
	mu    sync.Mutex
	count map[string]int
	total map[string]time.Duration
}

func (t *timedTransport) RoundTrip(request *http.Request) (*http.Response, error) {
	begun := time.Now()
	response, err := t.next.RoundTrip(request)
	kind := strings.SplitN(strings.TrimPrefix(request.URL.Path, "/"), "/", 2)[0]
	t.mu.Lock()
	t.count[kind]++
	t.total[kind] += time.Since(begun)
	t.mu.Unlock()
	return response, err
}

func (t *timedTransport) String() string {
	kinds := make([]string, 0, len(t.count))
	for kind := range t.count {
		kinds = append(kinds, kind)
	}
	sort.Strings(kinds)
	var parts []string
	for _, kind := range kinds {
		parts = append(parts, fmt.Sprintf("%s %d x %.1f ms", kind, t.count[kind],
			float64(t.total[kind].Microseconds())/1000/float64(t.count[kind])))
	}
	return strings.Join(parts, ", ")
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(p*float64(len(sorted)-1))]
}

func main() {
	flag.Parse()
	pem, err := os.ReadFile(*caFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "acmez-bench:", err)
		os.Exit(2)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	transport := &timedTransport{next: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots}, MaxIdleConnsPerHost: *workers * 2},
		count: map[string]int{}, total: map[string]time.Duration{}}
	httpClient := &http.Client{Timeout: 60 * time.Second, Transport: transport}
	var solverMarks sync.Map
	solver := dnsSolver{client: &http.Client{Timeout: 10 * time.Second}, marks: &solverMarks}
	client := acmez.Client{
		Client:           &acme.Client{Directory: *directory, HTTPClient: httpClient, UserAgent: "acmez-bench"},
		ChallengeSolvers: map[string]acmez.Solver{acme.ChallengeTypeDNS01: solver},
	}
	ctx := context.Background()
	accountKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	account, err := client.NewAccount(ctx, acme.Account{TermsOfServiceAgreed: true, PrivateKey: accountKey})
	if err != nil {
		fmt.Fprintln(os.Stderr, "acmez-bench: newAccount:", err)
		os.Exit(1)
	}
	run := time.Now().UnixNano() % 1_000_000
	var next, failed atomic.Int64
	var mu sync.Mutex
	var durations []time.Duration
	var phases [4][]time.Duration // order, publish, validate, finalize
	var wg sync.WaitGroup
	started := time.Now()
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(*count) {
					return
				}
				name := fmt.Sprintf("%s-%d-%d.bench.example", *label, run, i)
				key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				csr, err := acmez.NewCSR(crypto.Signer(key), []string{name})
				if err == nil {
					var params acmez.OrderParameters
					params, err = acmez.OrderParametersFromCSR(account, csr)
					params.Profile = *profile
					begun := time.Now()
					if err == nil {
						_, err = client.ObtainCertificate(ctx, params)
					}
					if err == nil {
						done := time.Now()
						m := solver.marksOf(acme.Challenge{Identifier: acme.Identifier{Value: name}})
						mu.Lock()
						durations = append(durations, done.Sub(begun))
						for p, d := range []time.Duration{m.presentBegun.Sub(begun), m.presentDone.Sub(m.presentBegun),
							m.cleanUpBegun.Sub(m.presentDone), done.Sub(m.cleanUpDone)} {
							phases[p] = append(phases[p], d)
						}
						mu.Unlock()
					}
				}
				if err != nil {
					failed.Add(1)
					fmt.Fprintf(os.Stderr, "acmez-bench: %s: %v\n", name, err)
				}
			}
		}()
	}
	wg.Wait()
	total := time.Since(started)
	sort.Slice(durations, func(a, b int) bool { return durations[a] < durations[b] })
	fmt.Printf("acmez: %d certificates in %.2f s (%d workers, one process), per certificate p50 %d ms, p95 %d ms, failed %d\n",
		len(durations), total.Seconds(), *workers, percentile(durations, 0.5).Milliseconds(),
		percentile(durations, 0.95).Milliseconds(), failed.Load())
	var parts []string
	for p, phase := range []string{"order", "publish", "validate", "finalize"} {
		sort.Slice(phases[p], func(a, b int) bool { return phases[p][a] < phases[p][b] })
		parts = append(parts, fmt.Sprintf("%s %d/%d", phase,
			percentile(phases[p], 0.5).Milliseconds(), percentile(phases[p], 0.95).Milliseconds()))
	}
	fmt.Printf("acmez phases per certificate, p50/p95 ms: %s\n", strings.Join(parts, ", "))
	fmt.Printf("acmez requests to the CA (count x mean): %s\n", transport)
	if failed.Load() > 0 {
		os.Exit(1)
	}
}
