// Stand-in Go and Node.js language hosts that only generate SDKs.
//
// `pulumi package gen-sdk --language go|nodejs` asks the language host of that language to write the SDK
// (GeneratePackage). Pulumi's own Go and Node.js hosts are modules the Go module proxy does not serve, so
// scripts/provide-sdk-generators builds this program instead, from the code generators of the engine's
// own pkg/v3, and installs it twice: as pulumi-language-go and as pulumi-language-nodejs. The name it is
// started under picks the generator. Running programs is refused: these hosts cannot run Go or Node.js
// programs, so the SDKs they generate are compiled by the tests but never run.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	nodejsgen "github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

type generate func(pkg *schema.Package, req *pulumirpc.GeneratePackageRequest, loader schema.ReferenceLoader) (
	map[string][]byte, error)

var generators = map[string]generate{
	"go": func(pkg *schema.Package, req *pulumirpc.GeneratePackageRequest, _ schema.ReferenceLoader) (
		map[string][]byte, error,
	) {
		if len(req.ExtraFiles) > 0 {
			return nil, fmt.Errorf("overlays are not supported for Go")
		}
		return gogen.GeneratePackage("pulumi-language-go", pkg, req.LocalDependencies)
	},
	"nodejs": func(pkg *schema.Package, req *pulumirpc.GeneratePackageRequest, loader schema.ReferenceLoader) (
		map[string][]byte, error,
	) {
		return nodejsgen.GeneratePackage(
			"pulumi-language-nodejs", pkg, req.ExtraFiles, req.LocalDependencies, req.Local, loader)
	},
}

type sdkGenerator struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	language string
	generate generate
}

var displayNames = map[string]string{"go": "Go", "nodejs": "Node.js"}

func (host *sdkGenerator) refuse(what string) error {
	return status.Errorf(codes.Unimplemented,
		"%s: this pulumi-language-%s only generates SDKs (pulumi package gen-sdk); Pulumi's own %s language "+
			"host is not available on this machine", what, host.language, displayNames[host.language])
}

func (host *sdkGenerator) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

func (host *sdkGenerator) Run(context.Context, *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	return nil, host.refuse("running a program")
}

func (host *sdkGenerator) GeneratePackage(
	_ context.Context, req *pulumirpc.GeneratePackageRequest,
) (*pulumirpc.GeneratePackageResponse, error) {
	client, err := schema.NewLoaderClient(req.LoaderTarget)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	loader := schema.NewCachedLoader(client)

	var spec schema.PackageSpec
	if err := json.Unmarshal([]byte(req.Schema), &spec); err != nil {
		return nil, fmt.Errorf("the schema is not valid JSON: %w", err)
	}
	pkg, diags, err := schema.BindSpec(spec, loader, schema.ValidationOptions{})
	if err != nil {
		return nil, err
	}
	if diags.HasErrors() {
		return &pulumirpc.GeneratePackageResponse{Diagnostics: plugin.HclDiagnosticsToRPCDiagnostics(diags)}, nil
	}
	files, err := host.generate(pkg, req, loader)
	if err != nil {
		return nil, err
	}
	for name, data := range files {
		path := filepath.Join(req.Directory, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return nil, err
		}
	}
	return &pulumirpc.GeneratePackageResponse{Diagnostics: plugin.HclDiagnosticsToRPCDiagnostics(diags)}, nil
}

func main() {
	language := strings.TrimPrefix(filepath.Base(os.Args[0]), "pulumi-language-")
	generator, known := generators[language]
	if !known {
		fmt.Fprintf(os.Stderr, "start this program as pulumi-language-go or pulumi-language-nodejs, not %s\n",
			filepath.Base(os.Args[0]))
		os.Exit(2)
	}
	// The engine passes its address last; when it stops answering, the engine is gone and so is our work.
	ctx, cancel := context.WithCancel(context.Background())
	stop := make(chan bool)
	go func() {
		<-ctx.Done()
		close(stop)
	}()
	if args := os.Args[1:]; len(args) > 0 && !strings.HasPrefix(args[len(args)-1], "-") {
		if err := rpcutil.Healthcheck(ctx, args[len(args)-1], 5*time.Second, cancel); err != nil {
			fmt.Fprintf(os.Stderr, "could not watch the engine: %v\n", err)
			os.Exit(1)
		}
	}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stop,
		Init: func(server *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(server, &sdkGenerator{language: language, generate: generator})
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "could not start the SDK generator: %v\n", err)
		os.Exit(1)
	}
	// The engine reads the port from the first line and talks gRPC from then on.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "the SDK generator stopped: %v\n", err)
		os.Exit(1)
	}
}
