// SPDX-License-Identifier: MIT
/*
 * uvfio vms: the host's KVM VMs, from UVP_VMS (format in
 * src/proto/uvfio_proto.h): who created each, whether it has a KVM-VFIO
 * device, the VFIO files that device holds, and whether non-coherent DMA
 * makes KVM honour the guest's WBINVD.
 *
 *   VM 0 (pid 4242): KVM-VFIO device, 2 files, non-coherent DMA 1, WBINVD honoured: yes
 *           group 3, coherent
 *           device vfio7 (0000:00:08.0), noncoherent
 *           opened with this VM: vfio0 (0000:00:03.0)
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "client/uvp_client.h"
#include "proto/uvfio_proto.h"

/* How many "file ID ..." lines follow for VM id. */
static unsigned int cli_vm_files(const char *text, unsigned int id)
{
	unsigned int n = 0, vm;

	for (const char *l = text; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "")
		if (sscanf(l, "file %u ", &vm) == 1 && vm == id)
			n++;
	return n;
}

static void cli_vm_print(const char *text, const char *line)
{
	unsigned int id, vm;
	int pid, has_vfio, assigned, noncoherent, wbinvd;

	if (sscanf(line, "vm %u pid=%d kvm-vfio=%d assigned=%d noncoherent=%d wbinvd=%d", &id,
		   &pid, &has_vfio, &assigned, &noncoherent, &wbinvd) != 6)
		return;
	printf("VM %u (pid %d): %s, %u files, non-coherent DMA %d, WBINVD honoured: %s\n", id,
	       pid, has_vfio ? "KVM-VFIO device" : "no KVM-VFIO device",
	       cli_vm_files(text, id), noncoherent, wbinvd ? "yes" : "no");
	for (const char *l = text; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
		char kind[16], name[64], dev[64], coh[16];
		int off = 0;

		if (sscanf(l, "file %u %15s %63s %n", &vm, kind, name, &off) != 3 || vm != id)
			continue;
		if (!strcmp(kind, "device") && sscanf(l + off, "%63s %15s", dev, coh) == 2)
			printf("\tdevice %s (%s), %s\n", name, dev, coh);
		else if (sscanf(l + off, "%15s", coh) == 1)
			printf("\t%s %s, %s\n", kind, name, coh);
	}
	for (const char *l = text; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
		char name[64], dev[64];

		if (sscanf(l, "user %u device %63s %63s", &vm, name, dev) == 3 && vm == id)
			printf("\topened with this VM: %s (%s)\n", name, dev);
	}
}

int cli_vms(int argc, char **argv)
{
	static char text[UVP_MAX_BODY + 1];
	char rtbuf[4000];
	const char *rt = cli_listing_runtime(argc, argv, rtbuf, sizeof(rtbuf));
	bool any = false;

	if (!rt)
		return 2;
	if (cli_admin_text(rt, UVP_VMS, "VMs", text, sizeof(text)))
		return 1;
	for (const char *l = text; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
		if (strncmp(l, "vm ", 3))
			continue;
		cli_vm_print(text, l);
		any = true;
	}
	if (!any)
		printf("no VMs\n");
	return 0;
}
