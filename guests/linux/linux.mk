# SPDX-License-Identifier: MIT
# guests/linux/linux.mk - the Linux test guest, included by guests/guests.mk:
#
#   $(B)/guests/linux/bzImage       Debian's unmodified cloud kernel (guests/linux/fetch-kernel)
#   $(B)/guests/linux/initramfs.gz  busybox + guests/linux/init (guests/linux/mkinitramfs)
#
# `make linux-guest` builds both. The kernel is fetched once and kept (with its .deb in
# $(B)/guests/linux/debs/), so later builds work offline; `make linux-guest-refresh` fetches the
# newest again.
LINUX_DIR := $(B)/guests/linux
LINUX_BZIMAGE := $(LINUX_DIR)/bzImage
LINUX_INITRD := $(LINUX_DIR)/initramfs.gz

$(LINUX_BZIMAGE):
	@mkdir -p $(@D)
	@echo "  FETCH   $@"
	$(Q)guests/linux/fetch-kernel $@

$(LINUX_INITRD): guests/linux/init guests/linux/mkinitramfs
	@mkdir -p $(@D)
	@echo "  CPIO    $@"
	$(Q)guests/linux/mkinitramfs $@

.PHONY: linux-guest linux-guest-refresh
linux-guest: $(LINUX_BZIMAGE) $(LINUX_INITRD)

linux-guest-refresh:
	rm -f $(LINUX_BZIMAGE)
	$(MAKE) linux-guest
