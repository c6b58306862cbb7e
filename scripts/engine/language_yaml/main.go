// pulumi-language-yaml: Pulumi's YAML language host (github.com/pulumi/pulumi-yaml) v1.25.0, with two calls
// brought up to what later pulumi-yaml versions (and so the YAML host a Pulumi release bundles) do.
//
// The Go module proxy serves v1.25.0 only, and its host is older than the engine on two points:
//
//   - Link: the engine calls it after `pulumi install` has installed a package from the `packages:` of
//     Pulumi.yaml, and fails the install when the host does not implement it. YAML has nothing to link;
//     later versions answer with an empty response, and so does this.
//   - Run's configuration: v1.25.0 guesses the type of every config value from its text, even one the
//     project declares `type: string`, so a string that looks like a number is read as one (a 32-digit
//     ZStack uuid becomes a float and loses digits); later versions keep the declared type. Here a value
//     Pulumi.yaml declares `type: string`, whose text v1.25.0 would read as something else, is handed to it
//     in JSON form, which v1.25.0 decodes back to the same string.
//
// Everything else is pulumi-yaml's own host. scripts/provide-yaml-host builds this file in a module that
// requires pulumi-yaml at the pinned version.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi-yaml/pkg/server"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// The engine's own period for a language host's health check of the engine.
const engineHealthCheckPeriod = 5 * time.Minute

type bridgedHost struct {
	pulumirpc.LanguageRuntimeServer
}

func (bridgedHost) Link(context.Context, *pulumirpc.LinkRequest) (*pulumirpc.LinkResponse, error) {
	return &pulumirpc.LinkResponse{}, nil
}

func (h bridgedHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	// The host loads the same project itself and reports a failure to; this only skips the translation.
	if path, err := workspace.DetectProjectPathFrom(req.GetInfo().GetRootDirectory()); err == nil {
		if project, err := workspace.LoadProject(path); err == nil {
			for name, declared := range project.Config {
				key := name
				if !strings.Contains(key, ":") {
					key = string(project.Name) + ":" + name
				}
				text, set := req.Config[key]
				if set && declared.Type != nil && *declared.Type == "string" && !readAsString(text) {
					quoted, err := json.Marshal(text)
					if err != nil {
						return nil, err
					}
					req.Config[key] = string(quoted)
				}
			}
		}
	}
	return h.LanguageRuntimeServer.Run(ctx, req)
}

// readAsString says whether pulumi-yaml v1.25.0 reads a config text as a string: it tries, in this order, a
// leading zero (a string), an integer, a boolean, a float and JSON, and takes the text as a string last.
func readAsString(text string) bool {
	if len(text) > 1 && strings.HasPrefix(text, "0") && !strings.HasPrefix(text, "0.") {
		return true
	}
	if _, err := strconv.ParseInt(text, 10, 64); err == nil {
		return false
	}
	if _, err := strconv.ParseBool(text); err == nil {
		return false
	}
	if _, err := strconv.ParseFloat(text, 64); err == nil {
		return false
	}
	var decoded any
	return json.Unmarshal([]byte(text), &decoded) != nil
}

func main() {
	var tracing string
	flag.StringVar(&tracing, "tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint")
	flag.String("root", "", "[obsolete] Root of the program execution")
	flag.String("compiler", "", "[obsolete] Compiler to use to pre-process YAML")
	flag.Parse()
	logging.InitLogging(false, 0, false)
	cmdutil.InitTracing("pulumi-language-yaml", "pulumi-language-yaml", tracing)

	// Stop serving on SIGINT (how the engine closes plugins) or once the engine stops answering.
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	stop := make(chan bool)
	go func() {
		<-ctx.Done()
		cancel()
		close(stop)
	}()
	engineAddress := flag.Arg(0)
	if engineAddress != "" {
		if err := rpcutil.Healthcheck(ctx, engineAddress, engineHealthCheckPeriod, cancel); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start health check host RPC server: %w", err))
		}
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stop,
		Init: func(srv *grpc.Server) error {
			host := server.NewLanguageHost(engineAddress, tracing, false /* useRPCLoader */)
			pulumirpc.RegisterLanguageRuntimeServer(srv, bridgedHost{host})
			return nil
		},
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start language host RPC server: %w", err))
	}
	// The engine reads the port from the first line.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host RPC stopped serving: %w", err))
	}
}
