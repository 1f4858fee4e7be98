/* SPDX-License-Identifier: MIT */
/* The built-in PCI models: known to pci_model_find() without registration. */
#ifndef UVF_MODELS_H
#define UVF_MODELS_H

#include "uvfio/pci_model.h"

extern const struct pci_model uvfio_test_model;
extern const struct pci_model ioat_model;

#endif
