package main

import (
	"context"
	"fmt"
	"reflect"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apiextensions-apiserver/pkg/cmd/server/options"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/names"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// builtinResource describes one built-in type served by this server.
type builtinResource struct {
	gv         schema.GroupVersion
	resource   string
	singular   string
	namespaced bool
	shortNames []string
	newObj     func() runtime.Object
	newList    func() runtime.Object
	// hasStatus: spec and status are split as in kube-apiserver: writes to the main resource keep
	// the stored status, writes to /status keep the stored spec.
	hasStatus bool
	// bumpsGeneration: metadata.generation starts at 1 and grows by one on every spec change,
	// as kube-apiserver's strategies do for these kinds (controllers compare it with
	// status.observedGeneration).
	bumpsGeneration bool
	// defaults applies what kube-apiserver's defaulting and conversion would (old is nil on create).
	defaults func(obj, old runtime.Object)
	// validateUpdate rejects updates kube-apiserver's validation rejects.
	validateUpdate func(obj, old runtime.Object) field.ErrorList
	// extraFields adds fields usable in field selectors beyond metadata.name/namespace.
	extraFields func(obj runtime.Object) fields.Set
	// storage replaces the default REST storage (main resource plus /status) for kinds whose
	// kube-apiserver registry does more (namespaces: see namespace.go).
	storage func(r *builtinResource, store *genericregistry.Store) map[string]rest.Storage
}

var builtinResources = []*builtinResource{
	{gv: corev1.SchemeGroupVersion, resource: "namespaces", singular: "namespace", shortNames: []string{"ns"},
		newObj: func() runtime.Object { return &corev1.Namespace{} }, newList: func() runtime.Object { return &corev1.NamespaceList{} },
		hasStatus: true, defaults: defaultNamespace, storage: namespaceStorage},
	{gv: corev1.SchemeGroupVersion, resource: "secrets", singular: "secret", namespaced: true,
		newObj: func() runtime.Object { return &corev1.Secret{} }, newList: func() runtime.Object { return &corev1.SecretList{} },
		defaults: defaultSecret, validateUpdate: validateSecretUpdate, extraFields: secretFields},
	{gv: corev1.SchemeGroupVersion, resource: "configmaps", singular: "configmap", namespaced: true, shortNames: []string{"cm"},
		newObj: func() runtime.Object { return &corev1.ConfigMap{} }, newList: func() runtime.Object { return &corev1.ConfigMapList{} }},
	{gv: corev1.SchemeGroupVersion, resource: "serviceaccounts", singular: "serviceaccount", namespaced: true, shortNames: []string{"sa"},
		newObj: func() runtime.Object { return &corev1.ServiceAccount{} }, newList: func() runtime.Object { return &corev1.ServiceAccountList{} }},
	{gv: corev1.SchemeGroupVersion, resource: "services", singular: "service", namespaced: true, shortNames: []string{"svc"},
		newObj: func() runtime.Object { return &corev1.Service{} }, newList: func() runtime.Object { return &corev1.ServiceList{} },
		hasStatus: true},
	{gv: corev1.SchemeGroupVersion, resource: "events", singular: "event", namespaced: true, shortNames: []string{"ev"},
		newObj: func() runtime.Object { return &corev1.Event{} }, newList: func() runtime.Object { return &corev1.EventList{} },
		extraFields: coreEventFields},
	{gv: eventsv1.SchemeGroupVersion, resource: "events", singular: "event", namespaced: true, shortNames: []string{"ev"},
		newObj: func() runtime.Object { return &eventsv1.Event{} }, newList: func() runtime.Object { return &eventsv1.EventList{} }},
	{gv: coordinationv1.SchemeGroupVersion, resource: "leases", singular: "lease", namespaced: true,
		newObj: func() runtime.Object { return &coordinationv1.Lease{} }, newList: func() runtime.Object { return &coordinationv1.LeaseList{} }},
	{gv: appsv1.SchemeGroupVersion, resource: "deployments", singular: "deployment", namespaced: true, shortNames: []string{"deploy"},
		newObj: func() runtime.Object { return &appsv1.Deployment{} }, newList: func() runtime.Object { return &appsv1.DeploymentList{} },
		hasStatus: true, bumpsGeneration: true, defaults: defaultDeployment},
	{gv: appsv1.SchemeGroupVersion, resource: "statefulsets", singular: "statefulset", namespaced: true, shortNames: []string{"sts"},
		newObj: func() runtime.Object { return &appsv1.StatefulSet{} }, newList: func() runtime.Object { return &appsv1.StatefulSetList{} },
		hasStatus: true, bumpsGeneration: true, defaults: defaultStatefulSet},
	{gv: appsv1.SchemeGroupVersion, resource: "daemonsets", singular: "daemonset", namespaced: true, shortNames: []string{"ds"},
		newObj: func() runtime.Object { return &appsv1.DaemonSet{} }, newList: func() runtime.Object { return &appsv1.DaemonSetList{} },
		hasStatus: true, bumpsGeneration: true},
	{gv: rbacv1.SchemeGroupVersion, resource: "roles", singular: "role", namespaced: true,
		newObj: func() runtime.Object { return &rbacv1.Role{} }, newList: func() runtime.Object { return &rbacv1.RoleList{} }},
	{gv: rbacv1.SchemeGroupVersion, resource: "rolebindings", singular: "rolebinding", namespaced: true,
		newObj: func() runtime.Object { return &rbacv1.RoleBinding{} }, newList: func() runtime.Object { return &rbacv1.RoleBindingList{} }},
	{gv: rbacv1.SchemeGroupVersion, resource: "clusterroles", singular: "clusterrole",
		newObj: func() runtime.Object { return &rbacv1.ClusterRole{} }, newList: func() runtime.Object { return &rbacv1.ClusterRoleList{} }},
	{gv: rbacv1.SchemeGroupVersion, resource: "clusterrolebindings", singular: "clusterrolebinding",
		newObj: func() runtime.Object { return &rbacv1.ClusterRoleBinding{} }, newList: func() runtime.Object { return &rbacv1.ClusterRoleBindingList{} }},
	{gv: policyv1.SchemeGroupVersion, resource: "poddisruptionbudgets", singular: "poddisruptionbudget", namespaced: true, shortNames: []string{"pdb"},
		newObj: func() runtime.Object { return &policyv1.PodDisruptionBudget{} }, newList: func() runtime.Object { return &policyv1.PodDisruptionBudgetList{} },
		hasStatus: true, bumpsGeneration: true},
	{gv: networkingv1.SchemeGroupVersion, resource: "networkpolicies", singular: "networkpolicy", namespaced: true, shortNames: []string{"netpol"},
		newObj: func() runtime.Object { return &networkingv1.NetworkPolicy{} }, newList: func() runtime.Object { return &networkingv1.NetworkPolicyList{} },
		bumpsGeneration: true},
}

// builtinRESTOptionsGetter stores built-in types in the same etcd as the CRDs, encoded with
// this server's scheme (the apiextensions options carry a codec that knows only CRD types).
func builtinRESTOptionsGetter(o *options.CustomResourceDefinitionsServerOptions, c *genericapiserver.RecommendedConfig) generic.RESTOptionsGetter {
	etcd := *o.RecommendedOptions.Etcd
	etcd.StorageConfig.Codec = builtinCodecs.LegacyCodec(servedGroupVersions...)
	etcd.StorageConfig.EncodeVersioner = schema.GroupVersions(servedGroupVersions)
	etcd.StorageConfig.Prefix = "/registry"
	return etcd.CreateRESTOptionsGetter(&genericoptions.SimpleStorageFactory{StorageConfig: etcd.StorageConfig}, c.ResourceTransformers)
}

// installBuiltins registers a store for every built-in resource and installs the API groups.
func installBuiltins(s *genericapiserver.GenericAPIServer, getter generic.RESTOptionsGetter) error {
	groups := map[string]*genericapiserver.APIGroupInfo{}
	var order []string
	for _, r := range builtinResources {
		info, ok := groups[r.gv.Group]
		if !ok {
			g := genericapiserver.NewDefaultAPIGroupInfo(r.gv.Group, builtinScheme, metav1.ParameterCodec, builtinCodecs)
			info = &g
			groups[r.gv.Group] = info
			order = append(order, r.gv.Group)
		}
		storages := info.VersionedResourcesStorageMap[r.gv.Version]
		if storages == nil {
			storages = map[string]rest.Storage{}
			info.VersionedResourcesStorageMap[r.gv.Version] = storages
		}
		store, err := newStore(r, getter)
		if err != nil {
			return fmt.Errorf("storage for %s: %w", r.resource, err)
		}
		restStorage := defaultStorage
		if r.storage != nil {
			restStorage = r.storage
		}
		for path, s := range restStorage(r, store) {
			storages[path] = s
		}
	}
	if err := s.InstallLegacyAPIGroup(genericapiserver.DefaultLegacyAPIPrefix, groups[""]); err != nil {
		return fmt.Errorf("installing core/v1: %w", err)
	}
	var named []*genericapiserver.APIGroupInfo
	for _, g := range order {
		if g != "" {
			named = append(named, groups[g])
		}
	}
	return s.InstallAPIGroups(named...)
}

func newStore(r *builtinResource, getter generic.RESTOptionsGetter) (*genericregistry.Store, error) {
	gr := r.gv.WithResource(r.resource).GroupResource()
	mainStrategy := &strategy{ObjectTyper: builtinScheme, NameGenerator: names.SimpleNameGenerator, r: r}
	store := &genericregistry.Store{
		NewFunc:                   r.newObj,
		NewListFunc:               r.newList,
		DefaultQualifiedResource:  gr,
		SingularQualifiedResource: schema.GroupResource{Group: r.gv.Group, Resource: r.singular},
		CreateStrategy:            mainStrategy,
		UpdateStrategy:            mainStrategy,
		DeleteStrategy:            mainStrategy,
		ResetFieldsStrategy:       mainStrategy,
		TableConvertor:            rest.NewDefaultTableConvertor(gr),
	}
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: getter, AttrFunc: attrFunc(r)}); err != nil {
		return nil, err
	}
	return store, nil
}

// defaultStorage serves the main resource and, for kinds with a status, the /status subresource.
func defaultStorage(r *builtinResource, store *genericregistry.Store) map[string]rest.Storage {
	storages := map[string]rest.Storage{r.resource: &mainREST{Store: store, shortNames: r.shortNames}}
	if r.hasStatus {
		storages[r.resource+"/status"] = &statusREST{store: statusStore(r, store)}
	}
	return storages
}

// statusStore is a copy of store whose updates change only the status.
func statusStore(r *builtinResource, store *genericregistry.Store) *genericregistry.Store {
	statusStrategy := &strategy{ObjectTyper: builtinScheme, NameGenerator: names.SimpleNameGenerator, r: r, statusOnly: true}
	s := *store
	s.UpdateStrategy = statusStrategy
	s.ResetFieldsStrategy = statusStrategy
	return &s
}

func attrFunc(r *builtinResource) storage.AttrFunc {
	return func(obj runtime.Object) (labels.Set, fields.Set, error) {
		m, err := meta.Accessor(obj)
		if err != nil {
			return nil, nil, err
		}
		f := fields.Set{"metadata.name": m.GetName()}
		if r.namespaced {
			f["metadata.namespace"] = m.GetNamespace()
		}
		if r.extraFields != nil {
			for k, v := range r.extraFields(obj) {
				f[k] = v
			}
		}
		return labels.Set(m.GetLabels()), f, nil
	}
}

// mainREST adds the short names kubectl shows in `api-resources` and resolves (`ns`, `cm`, ...).
type mainREST struct {
	*genericregistry.Store
	shortNames []string
}

func (m *mainREST) ShortNames() []string { return m.shortNames }

// statusREST serves the /status subresource: get and update (including server-side apply).
type statusREST struct{ store *genericregistry.Store }

func (s *statusREST) New() runtime.Object { return s.store.New() }
func (s *statusREST) Destroy()            {}
func (s *statusREST) Get(ctx context.Context, name string, o *metav1.GetOptions) (runtime.Object, error) {
	return s.store.Get(ctx, name, o)
}
func (s *statusREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, _ bool, o *metav1.UpdateOptions) (runtime.Object, bool, error) {
	// Like kube-apiserver, /status never creates the object.
	return s.store.Update(ctx, name, objInfo, createValidation, updateValidation, false, o)
}
func (s *statusREST) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return s.store.GetResetFields()
}
func (s *statusREST) ConvertToTable(ctx context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return s.store.ConvertToTable(ctx, obj, tableOptions)
}

// strategy is one small create/update/delete strategy shared by all built-in types.
type strategy struct {
	runtime.ObjectTyper
	names.NameGenerator
	r          *builtinResource
	statusOnly bool
}

func (s *strategy) NamespaceScoped() bool          { return s.r.namespaced }
func (s *strategy) AllowCreateOnUpdate() bool      { return false }
func (s *strategy) AllowUnconditionalUpdate() bool { return true }
func (s *strategy) Canonicalize(runtime.Object)    {}
func (s *strategy) WarningsOnCreate(context.Context, runtime.Object) []string {
	return nil
}
func (s *strategy) WarningsOnUpdate(context.Context, runtime.Object, runtime.Object) []string {
	return nil
}
func (s *strategy) Validate(context.Context, runtime.Object) field.ErrorList { return nil }

func (s *strategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	if s.r.validateUpdate == nil || s.statusOnly {
		return nil
	}
	return s.r.validateUpdate(obj, old)
}

func (s *strategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	if s.r.hasStatus {
		// kube-apiserver drops any status sent with a create of these kinds.
		setField(obj, "Status", reflect.Zero(fieldOf(obj, "Status").Type()))
	}
	if s.r.bumpsGeneration {
		mustAccessor(obj).SetGeneration(1)
	}
	if s.r.defaults != nil {
		s.r.defaults(obj, nil)
	}
}

func (s *strategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	newMeta, oldMeta := mustAccessor(obj), mustAccessor(old)
	newMeta.SetGeneration(oldMeta.GetGeneration())
	if s.statusOnly {
		// Writes to /status change only the status.
		if hasField(obj, "Spec") {
			setField(obj, "Spec", fieldOf(old, "Spec"))
		}
		newMeta.SetLabels(oldMeta.GetLabels())
		newMeta.SetAnnotations(oldMeta.GetAnnotations())
		return
	}
	if s.r.hasStatus {
		// Writes to the main resource never change the status.
		setField(obj, "Status", fieldOf(old, "Status"))
	}
	// Defaults first (kube-apiserver defaults while decoding), so an omitted defaulted field does
	// not count as a spec change.
	if s.r.defaults != nil {
		s.r.defaults(obj, old)
	}
	if s.r.bumpsGeneration && !equality.Semantic.DeepEqual(fieldOf(obj, "Spec").Interface(), fieldOf(old, "Spec").Interface()) {
		newMeta.SetGeneration(oldMeta.GetGeneration() + 1)
	}
}

// GetResetFields tells server-side apply which fields this endpoint does not own, so appliers
// of the main resource never take ownership of status (and the reverse for /status).
func (s *strategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	if !s.r.hasStatus {
		return nil
	}
	reset := fieldpath.NewSet(fieldpath.MakePathOrDie("status"))
	if s.statusOnly {
		reset = fieldpath.NewSet(fieldpath.MakePathOrDie("spec"), fieldpath.MakePathOrDie("metadata", "labels"), fieldpath.MakePathOrDie("metadata", "annotations"))
	}
	return map[fieldpath.APIVersion]*fieldpath.Set{fieldpath.APIVersion(s.r.gv.String()): reset}
}

func mustAccessor(obj runtime.Object) metav1.Object {
	m, err := meta.Accessor(obj)
	if err != nil {
		panic(err)
	}
	return m
}

func fieldOf(obj runtime.Object, name string) reflect.Value {
	return reflect.ValueOf(obj).Elem().FieldByName(name)
}

func hasField(obj runtime.Object, name string) bool { return fieldOf(obj, name).IsValid() }

func setField(obj runtime.Object, name string, v reflect.Value) {
	fieldOf(obj, name).Set(v)
}
