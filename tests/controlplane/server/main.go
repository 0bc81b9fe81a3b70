// Command keyward-controlplane is a small Kubernetes API server for Keyward's tests and demo.
//
// It is the apiextensions API server from the real Kubernetes libraries (CRDs with OpenAPI
// publishing, CEL rules, status subresources and server-side apply), with discovery turned on
// and a handful of built-in types served from the same etcd (see builtin.go), plus the
// controllers tests rely on (controllers.go: system namespaces, namespace deletion, garbage
// collection). Everything it
// imports comes from Debian packages; up.sh builds it in GOPATH mode.
package main

import (
	"context"
	"os"

	"github.com/spf13/cobra"

	"k8s.io/apiextensions-apiserver/pkg/apiserver"
	"k8s.io/apiextensions-apiserver/pkg/cmd/server/options"
	extensionsopenapi "k8s.io/apiextensions-apiserver/pkg/generated/openapi"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/util/openapi"
	"k8s.io/component-base/cli"
	openapicommon "k8s.io/kube-openapi/pkg/common"

	builtinopenapi "keyward.dev/controlplane/generated/openapi"
)

func main() {
	ctx := genericapiserver.SetupSignalContext()
	o := options.NewCustomResourceDefinitionsServerOptions(os.Stdout, os.Stderr)
	cmd := &cobra.Command{
		Use:   "keyward-controlplane",
		Short: "Kubernetes API server (CRDs plus a few built-in types) for Keyward's tests",
		PersistentPreRunE: func(*cobra.Command, []string) error {
			return o.ServerRunOptions.ComponentGlobalsRegistry.Set()
		},
		RunE: func(c *cobra.Command, _ []string) error {
			if err := o.Complete(); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return run(c.Context(), o)
		},
	}
	cmd.SetContext(ctx)
	o.AddFlags(cmd.Flags())
	os.Exit(cli.Run(cmd))
}

// allDefinitions merges the OpenAPI models of the apiextensions server with the ones generated
// for the built-in types. Server-side apply on built-in types needs their models (they give the
// field manager its list-map keys), and kubectl's validation needs the published schema.
func allDefinitions(ref openapicommon.ReferenceCallback) map[string]openapicommon.OpenAPIDefinition {
	defs := extensionsopenapi.GetOpenAPIDefinitions(ref)
	for name, def := range builtinopenapi.GetOpenAPIDefinitions(ref) {
		defs[name] = def
	}
	return defs
}

func run(ctx context.Context, o *options.CustomResourceDefinitionsServerOptions) error {
	config, err := o.Config()
	if err != nil {
		return err
	}

	// The library's own main publishes only OpenAPI v3; without v2 the CRD OpenAPI v2 publisher
	// does not run, and kubectl 1.32 still reads v2 for client-side validation.
	getDefs := openapi.GetOpenAPIDefinitionsWithoutDisabledFeatures(allDefinitions)
	namer := openapinamer.NewDefinitionNamer(apiserver.Scheme, builtinScheme)
	config.GenericConfig.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(getDefs, namer)
	config.GenericConfig.OpenAPIConfig.Info.Title = "Kubernetes"
	config.GenericConfig.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(getDefs, namer)
	config.GenericConfig.OpenAPIV3Config.Info.Title = "Kubernetes"

	builtinGetter := builtinRESTOptionsGetter(o, config.GenericConfig)

	completed := config.Complete()
	// Inside kube-apiserver another layer serves discovery, so the apiextensions server turns it
	// off; standing alone it has to serve /api and /apis itself or kubectl and kube-rs find nothing.
	completed.GenericConfig.EnableDiscovery = true

	server, err := completed.New(genericapiserver.NewEmptyDelegate())
	if err != nil {
		return err
	}
	if err := installBuiltins(server.GenericAPIServer, builtinGetter); err != nil {
		return err
	}
	syncCRDGroupsIntoDiscovery(server)
	addControllers(server)
	return server.GenericAPIServer.PrepareRun().RunWithContext(ctx)
}
