package main

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
)

// The system namespaces kube-apiserver's system namespaces controller creates at start-up and
// re-creates (checking every minute) should one go.
var systemNamespaces = []string{metav1.NamespaceSystem, metav1.NamespacePublic, corev1.NamespaceNodeLease, metav1.NamespaceDefault}

const systemNamespacesEvery = time.Minute

func keepSystemNamespaces(ctx context.Context, kube kubernetes.Interface) {
	for {
		delay := systemNamespacesEvery
		if err := ensureSystemNamespaces(ctx, kube); err != nil {
			klog.InfoS("system namespaces: will retry", "err", err)
			delay = time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

func ensureSystemNamespaces(ctx context.Context, kube kubernetes.Interface) error {
	namespaces := kube.CoreV1().Namespaces()
	for _, name := range systemNamespaces {
		_, err := namespaces.Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			continue
		}
		if !apierrors.IsNotFound(err) {
			return err
		}
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if _, err := namespaces.Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return nil
}
