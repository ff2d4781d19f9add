; SPDX-License-Identifier: MIT
; Harness fixture: a tiny multiboot2 "kernel" that needs none of Vireo. tests/harness/selftest
; boots it through run/mkiso + run/qemu / run/bochs + tests/run-all to check the test machinery.
;
; It programs COM1 (115200 8N1), prints "fixture: boot", its command line and every module's
; command line and size, "fixture: hello", then acts on the first word of its command line:
;   (empty/other)  power off: ACPI S5 for QEMU (PM1a_CNT 0x604) and Bochs (0xb004), then Bochs's
;                  shutdown port 0x8900
;   hang           hang with interrupts off (timeout test)
;   triple         triple fault (QEMU -no-reboot exits, Bochs resets and boots again)
;   panic          print "PANIC: fixture" and hang
;   exit=N         QEMU isa-debug-exit with code N (one digit): QEMU exits with (N<<1)|1
; Build: nasm -f elf32 fixture.asm -o fixture.o && ld -m elf_i386 -Ttext=0x200000 -o fixture.elf fixture.o
bits 32

section .text
align 8
mb2_start:
	dd 0xe85250d6                   ; magic
	dd 0                            ; architecture: i386 protected mode
	dd mb2_end - mb2_start
	dd 0x100000000 - (0xe85250d6 + (mb2_end - mb2_start))
	dw 0, 0                         ; end tag
	dd 8
mb2_end:

global _start
_start:
	mov esp, stack_top
	mov [mbi], ebx
	call uart_init
	mov esi, s_boot
	call puts

	; walk the multiboot2 information: u32 total_size, u32 reserved, then 8-byte aligned tags
	mov ebx, [mbi]
	lea edi, [ebx + 8]
.tag:
	mov eax, [edi]                  ; type
	test eax, eax
	jz .tags_done
	cmp eax, 1                      ; command line
	jne .not_cmdline
	lea eax, [edi + 8]
	mov [cmdline], eax
	mov esi, s_cmdline
	call puts
	mov esi, [cmdline]
	call puts
	mov esi, s_close
	call puts
	jmp .next
.not_cmdline:
	cmp eax, 3                      ; module
	jne .next
	mov esi, s_module
	call puts
	lea esi, [edi + 16]
	call puts
	mov esi, s_size
	call puts
	mov eax, [edi + 12]
	sub eax, [edi + 8]
	call puthex
	mov al, 10
	call putc
.next:
	mov eax, [edi + 4]              ; size, rounded up to 8
	add eax, 7
	and eax, ~7
	add edi, eax
	jmp .tag
.tags_done:
	mov esi, s_hello
	call puts

	mov esi, [cmdline]
	test esi, esi
	jz poweroff
	mov eax, [esi]
	cmp eax, 'hang'
	je hang
	cmp eax, 'trip'
	je triple
	cmp eax, 'pani'
	je panic
	cmp eax, 'exit'
	je debug_exit
	jmp poweroff

hang:
	mov esi, s_hang
	call puts
.1:	cli
	hlt
	jmp .1

panic:
	mov esi, s_panic
	call puts
	jmp hang.1

triple:
	mov esi, s_triple
	call puts
	lidt [null_idt]
	int3
	jmp hang.1

debug_exit:
	call uart_drain
	movzx eax, byte [esi + 5]       ; "exit=N"
	sub eax, '0'
	out 0xf4, al
	jmp hang.1                      ; not QEMU (no isa-debug-exit): hang

poweroff:
	mov esi, s_off
	call puts
	call uart_drain
	mov ax, 0x2000                  ; SLP_EN, SLP_TYP 0 (_S5 of both firmwares)
	mov dx, 0x604                   ; QEMU i440fx: PM base 0x600 (SeaBIOS)
	out dx, ax
	mov dx, 0xb004                  ; Bochs: PM base 0xb000 (Bochs BIOS)
	out dx, ax
	mov esi, s_shutdown             ; Bochs shutdown port
	mov dx, 0x8900
.2:	lodsb
	test al, al
	jz hang.1
	out dx, al
	jmp .2

uart_init:
	mov dx, 0x3f9
	xor al, al
	out dx, al                      ; IER: no interrupts
	mov dx, 0x3fb
	mov al, 0x80
	out dx, al                      ; LCR: DLAB
	mov dx, 0x3f8
	mov al, 1
	out dx, al                      ; divisor 1 = 115200
	mov dx, 0x3f9
	xor al, al
	out dx, al
	mov dx, 0x3fb
	mov al, 0x03
	out dx, al                      ; LCR: 8N1 (reset value is 5 data bits)
	mov dx, 0x3fa
	mov al, 0xc7
	out dx, al                      ; FCR: FIFO on, cleared
	mov dx, 0x3fc
	mov al, 0x03
	out dx, al                      ; MCR: DTR RTS
	ret

; wait until the transmitter is empty (LSR.TEMT), so no output is lost at power-off
uart_drain:
	mov dx, 0x3fd
.w:	in al, dx
	test al, 0x40
	jz .w
	ret

; putc: AL
putc:
	push edx
	push eax
	cmp al, 10
	jne .raw
	mov al, 13
	call .raw_out
	mov al, 10
.raw:
	call .raw_out
	pop eax
	pop edx
	ret
.raw_out:
	push eax
	mov dx, 0x3fd
.wait:	in al, dx
	test al, 0x20
	jz .wait
	pop eax
	mov dx, 0x3f8
	out dx, al
	ret

; puts: ESI, NUL-terminated
puts:
	push esi
	push eax
.l:	lodsb
	test al, al
	jz .d
	call putc
	jmp .l
.d:	pop eax
	pop esi
	ret

; puthex: EAX as 0x%08x
puthex:
	push ecx
	push ebx
	mov ebx, eax
	mov al, '0'
	call putc
	mov al, 'x'
	call putc
	mov ecx, 8
.h:	rol ebx, 4
	mov eax, ebx
	and eax, 15
	mov al, [hexdig + eax]
	call putc
	loop .h
	pop ebx
	pop ecx
	ret

section .rodata
s_boot:     db "fixture: boot", 10, 0
s_cmdline:  db "fixture: cmdline=[", 0
s_close:    db "]", 10, 0
s_module:   db "fixture: module [", 0
s_size:     db "] size=", 0
s_hello:    db "fixture: hello", 10, 0
s_hang:     db "fixture: hanging", 10, 0
s_panic:    db "PANIC: fixture", 10, 0
s_triple:   db "fixture: triple fault", 10, 0
s_off:      db "fixture: power off", 10, 0
s_shutdown: db "Shutdown", 0
hexdig:     db "0123456789abcdef"
align 8
null_idt:   dw 0
            dd 0

section .bss
align 16
mbi:        resd 1
cmdline:    resd 1
stack:      resb 4096
stack_top:
