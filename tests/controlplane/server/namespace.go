package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
	storeerr "k8s.io/apiserver/pkg/storage/errors"
	"k8s.io/apiserver/pkg/storage/names"
	"k8s.io/apiserver/pkg/util/dryrun"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// Namespaces are stored as kube-apiserver's namespace registry stores them: the first DELETE only
// marks the namespace Terminating, the namespace controller (nscontroller.go) empties it and then
// takes the "kubernetes" finalizer out of spec.finalizers through /finalize, and the namespace
// goes once spec.finalizers and metadata.finalizers are both empty.

// namespaceStorage serves namespaces, namespaces/status and namespaces/finalize.
func namespaceStorage(r *builtinResource, store *genericregistry.Store) map[string]rest.Storage {
	store.ShouldDeleteDuringUpdate = namespaceFinalized
	store.ReturnDeletedObject = true
	finalize := *store
	finalizeStrategy := namespaceFinalizeStrategy{&strategy{ObjectTyper: builtinScheme, NameGenerator: names.SimpleNameGenerator, r: r}}
	finalize.UpdateStrategy = finalizeStrategy
	finalize.ResetFieldsStrategy = finalizeStrategy
	return map[string]rest.Storage{
		r.resource:               &namespaceREST{store: store, shortNames: r.shortNames},
		r.resource + "/status":   &statusREST{store: statusStore(r, store)},
		r.resource + "/finalize": &finalizeREST{store: &finalize},
	}
}

// namespaceFinalized adds the namespace's own condition to the store's delete-on-update rule:
// an update removes a deleted namespace only once spec.finalizers is empty too.
func namespaceFinalized(_ context.Context, _ string, obj, _ runtime.Object) bool {
	return len(obj.(*corev1.Namespace).Spec.Finalizers) == 0
}

// namespaceREST is the namespaces resource. It has no deletecollection (kube-apiserver's has
// none either: a collection delete would skip the termination below).
type namespaceREST struct {
	store      *genericregistry.Store
	shortNames []string
}

var (
	_ rest.Creater                    = &namespaceREST{}
	_ rest.Lister                     = &namespaceREST{}
	_ rest.Getter                     = &namespaceREST{}
	_ rest.Updater                    = &namespaceREST{}
	_ rest.GracefulDeleter            = &namespaceREST{}
	_ rest.Watcher                    = &namespaceREST{}
	_ rest.ShortNamesProvider         = &namespaceREST{}
	_ rest.SingularNameProvider       = &namespaceREST{}
	_ rest.TableConvertor             = &namespaceREST{}
	_ rest.ResetFieldsStrategy        = &namespaceREST{}
	_ rest.StorageVersionProvider     = &namespaceREST{}
	_ rest.Scoper                     = &namespaceREST{}
	_ rest.MayReturnFullObjectDeleter = &namespaceREST{}
)

func (n *namespaceREST) New() runtime.Object     { return n.store.New() }
func (n *namespaceREST) NewList() runtime.Object { return n.store.NewList() }
func (n *namespaceREST) Destroy()                { n.store.Destroy() }
func (n *namespaceREST) NamespaceScoped() bool   { return false }
func (n *namespaceREST) ShortNames() []string    { return n.shortNames }
func (n *namespaceREST) GetSingularName() string { return n.store.GetSingularName() }
func (n *namespaceREST) DeleteReturnsDeletedObject() bool {
	return n.store.DeleteReturnsDeletedObject()
}
func (n *namespaceREST) StorageVersion() runtime.GroupVersioner { return n.store.StorageVersion() }
func (n *namespaceREST) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return n.store.GetResetFields()
}
func (n *namespaceREST) Create(ctx context.Context, obj runtime.Object, v rest.ValidateObjectFunc, o *metav1.CreateOptions) (runtime.Object, error) {
	return n.store.Create(ctx, obj, v, o)
}
func (n *namespaceREST) Get(ctx context.Context, name string, o *metav1.GetOptions) (runtime.Object, error) {
	return n.store.Get(ctx, name, o)
}
func (n *namespaceREST) List(ctx context.Context, o *metainternalversion.ListOptions) (runtime.Object, error) {
	return n.store.List(ctx, o)
}
func (n *namespaceREST) Watch(ctx context.Context, o *metainternalversion.ListOptions) (watch.Interface, error) {
	return n.store.Watch(ctx, o)
}
func (n *namespaceREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, o *metav1.UpdateOptions) (runtime.Object, bool, error) {
	return n.store.Update(ctx, name, objInfo, createValidation, updateValidation, forceAllowCreate, o)
}
func (n *namespaceREST) ConvertToTable(ctx context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return n.store.ConvertToTable(ctx, obj, tableOptions)
}

// Delete starts the termination of a namespace; only a namespace already terminating and
// finalized (spec.finalizers empty) is removed right away.
func (n *namespaceREST) Delete(ctx context.Context, name string, deleteValidation rest.ValidateObjectFunc, options *metav1.DeleteOptions) (runtime.Object, bool, error) {
	obj, err := n.store.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, false, err
	}
	ns := obj.(*corev1.Namespace)
	if options == nil {
		options = metav1.NewDeleteOptions(0)
	}
	if options.Preconditions == nil {
		options.Preconditions = &metav1.Preconditions{}
	}
	// Pin the UID, so a namespace deleted and re-created meanwhile is not touched.
	if options.Preconditions.UID == nil {
		options.Preconditions.UID = &ns.UID
	} else if *options.Preconditions.UID != ns.UID {
		return nil, false, apierrors.NewConflict(corev1.Resource("namespaces"), name,
			fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *options.Preconditions.UID, ns.UID))
	}
	if rv := options.Preconditions.ResourceVersion; rv != nil && *rv != ns.ResourceVersion {
		return nil, false, apierrors.NewConflict(corev1.Resource("namespaces"), name,
			fmt.Errorf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *rv, ns.ResourceVersion))
	}

	if ns.DeletionTimestamp.IsZero() {
		key, err := n.store.KeyFunc(ctx, name)
		if err != nil {
			return nil, false, err
		}
		preconditions := storage.Preconditions{UID: options.Preconditions.UID, ResourceVersion: options.Preconditions.ResourceVersion}
		out := n.store.NewFunc()
		err = n.store.Storage.GuaranteedUpdate(ctx, key, out, false, &preconditions,
			storage.SimpleUpdate(func(existing runtime.Object) (runtime.Object, error) {
				current := existing.(*corev1.Namespace)
				if err := deleteValidation(ctx, current); err != nil {
					return nil, err
				}
				markTerminating(current, options, time.Now())
				return current, nil
			}),
			dryrun.IsDryRun(options.DryRun), nil)
		if err != nil {
			err = storeerr.InterpretGetError(err, corev1.Resource("namespaces"), name)
			err = storeerr.InterpretUpdateError(err, corev1.Resource("namespaces"), name)
			if _, ok := err.(*apierrors.StatusError); !ok {
				err = apierrors.NewInternalError(err)
			}
			return nil, false, err
		}
		return out, false, nil
	}

	if len(ns.Spec.Finalizers) != 0 {
		return ns, false, nil
	}
	return n.store.Delete(ctx, name, deleteValidation, options)
}

// markTerminating is what the first DELETE of a namespace does: deletionTimestamp, phase
// Terminating, and the garbage collector's finalizers as the delete options ask for them
// (orphanDependents or propagationPolicy; neither keeps what is there).
func markTerminating(ns *corev1.Namespace, options *metav1.DeleteOptions, now time.Time) {
	if ns.DeletionTimestamp.IsZero() {
		t := metav1.NewTime(now)
		ns.DeletionTimestamp = &t
	}
	ns.Status.Phase = corev1.NamespaceTerminating

	orphan := slices.Contains(ns.Finalizers, metav1.FinalizerOrphanDependents)
	foreground := slices.Contains(ns.Finalizers, metav1.FinalizerDeleteDependents)
	switch {
	case options.OrphanDependents != nil:
		orphan, foreground = *options.OrphanDependents, !*options.OrphanDependents
	case options.PropagationPolicy != nil:
		orphan = *options.PropagationPolicy == metav1.DeletePropagationOrphan
		foreground = *options.PropagationPolicy == metav1.DeletePropagationForeground
	}
	ns.Finalizers = withFinalizer(ns.Finalizers, metav1.FinalizerOrphanDependents, orphan)
	ns.Finalizers = withFinalizer(ns.Finalizers, metav1.FinalizerDeleteDependents, foreground)
}

// withFinalizer adds or removes one finalizer, keeping the order of the others.
func withFinalizer(finalizers []string, finalizer string, want bool) []string {
	has := slices.Contains(finalizers, finalizer)
	switch {
	case want && !has:
		return append(finalizers, finalizer)
	case !want && has:
		return slices.DeleteFunc(slices.Clone(finalizers), func(f string) bool { return f == finalizer })
	}
	return finalizers
}

// namespaceFinalizeStrategy is the /finalize subresource's: it changes the spec (finalizers)
// and never the status.
type namespaceFinalizeStrategy struct{ *strategy }

func (namespaceFinalizeStrategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	obj.(*corev1.Namespace).Status = old.(*corev1.Namespace).Status
}

func (s namespaceFinalizeStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		fieldpath.APIVersion(s.r.gv.String()): fieldpath.NewSet(fieldpath.MakePathOrDie("status")),
	}
}

// finalizeREST serves PUT namespaces/{name}/finalize, the namespace controller's last step.
type finalizeREST struct{ store *genericregistry.Store }

func (f *finalizeREST) New() runtime.Object { return f.store.New() }
func (f *finalizeREST) Destroy()            {}
func (f *finalizeREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, _ bool, o *metav1.UpdateOptions) (runtime.Object, bool, error) {
	return f.store.Update(ctx, name, objInfo, createValidation, updateValidation, false, o)
}
func (f *finalizeREST) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return f.store.GetResetFields()
}
