// Command cert-manager is a small launcher over cert-manager's public controller
// registry, for e2e/run.sh. cert-manager's own controller binary (cmd/controller) is a
// separate module with a local replace and cannot be built from the module proxy; this
// launcher runs the same controllers the same way that binary does:
//
//  1. the blank imports below register the controllers in controller.Known();
//  2. controller.NewContextFactory builds the shared clients and informer factories;
//  3. each chosen controller's constructor registers its informers and work queue;
//  4. the informer factories start, then each controller runs until SIGINT/SIGTERM.
//
// The chosen ones are the Certificate machinery (trigger → key manager → request
// manager → issuing, readiness, revision manager) and the approver that approves every
// CertificateRequest not yet decided. cert-manager's own issuers, ACME, the webhook and
// cainjector are not needed to drive an external issuer and are left out.
//
// Flags: --kubeconfig (default $KUBECONFIG), --namespace (default: all),
// --controllers (comma-separated, default: all registered above), --workers, -v.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/klog/v2"

	"github.com/cert-manager/cert-manager/pkg/controller"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
)

func main() {
	klog.InitFlags(flag.CommandLine)
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file")
	namespace := flag.String("namespace", "", "watch this namespace only (default: all)")
	only := flag.String("controllers", "", "comma-separated controllers to run (default: all registered)")
	workers := flag.Int("workers", 5, "workers per controller (cert-manager's default)")
	flag.Parse()
	logf.InitLogs()
	defer logf.FlushLogs()

	if err := run(*kubeconfig, *namespace, *only, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "cert-manager launcher:", err)
		os.Exit(1)
	}
}

func run(kubeconfig, namespace, only string, workers int) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx = logf.NewContext(ctx, klog.Background(), "cert-manager")

	names := make([]string, 0, len(controller.Known()))
	for name := range controller.Known() {
		names = append(names, name)
	}
	if only != "" {
		names = strings.Split(only, ",")
	}
	sort.Strings(names)

	factory, err := controller.NewContextFactory(ctx, controller.ContextOptions{
		Kubeconfig:         kubeconfig,
		Namespace:          namespace,
		KubernetesAPIQPS:   50,
		KubernetesAPIBurst: 100,
		CertificateOptions: controller.CertificateOptions{
			// cert-manager's defaults (--certificate-request-minimum/maximum-backoff-duration).
			CertificateRequestMinimumBackoffDuration: time.Hour,
			CertificateRequestMaximumBackoffDuration: 32 * time.Hour,
			CopiedAnnotationPrefixes:                 []string{"*", "-kubectl.kubernetes.io/", "-fluxcd.io/", "-argocd.argoproj.io/"},
		},
	})
	if err != nil {
		return err
	}

	// Constructing a controller registers its informers with the shared factories, so
	// every constructor runs before the factories start.
	var running []controller.Interface
	for _, name := range names {
		construct, ok := controller.Known()[name]
		if !ok {
			return fmt.Errorf("unknown controller %q", name)
		}
		c, err := construct(factory)
		if err != nil {
			return fmt.Errorf("controller %s: %w", name, err)
		}
		running = append(running, c)
	}

	// Build returns a Context that shares the factory's informer factories.
	shared, err := factory.Build()
	if err != nil {
		return err
	}
	shared.KubeSharedInformerFactory.Start(ctx.Done())
	shared.SharedInformerFactory.Start(ctx.Done())
	shared.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())
	klog.InfoS("cert-manager launcher started", "controllers", names, "namespace", namespace)

	var wg sync.WaitGroup
	errs := make(chan error, len(running))
	for i, c := range running {
		wg.Go(func() {
			if err := c.Run(workers, ctx); err != nil {
				errs <- fmt.Errorf("controller %s: %w", names[i], err)
				stop()
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}
