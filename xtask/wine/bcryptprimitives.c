/* bcryptprimitives.dll for Wine releases that lack it (before Wine 9).
 *
 * Rust's standard library on Windows (since Rust 1.78) takes random bytes
 * from ProcessPrng, exported by bcryptprimitives.dll. Debian 12's Wine 8
 * has no such DLL, so every Rust program fails to load under it. This DLL
 * exports ProcessPrng and fills the buffer from bcrypt's system-preferred
 * generator, which Wine 8 does implement. `cargo xtask test-matrix` builds
 * it with mingw-w64 into the Wine prefix it uses, and only when that Wine
 * has no bcryptprimitives.dll of its own.
 */
#include <windows.h>
#include <bcrypt.h>

/* BCryptGenRandom takes a ULONG length; larger requests go in pieces. */
#define PIECE ((SIZE_T)1 << 30)

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE out, SIZE_T len)
{
    while (len > 0) {
        ULONG n = (ULONG)(len < PIECE ? len : PIECE);
        NTSTATUS status = BCryptGenRandom(NULL, out, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG);
        if (!BCRYPT_SUCCESS(status)) {
            return FALSE;
        }
        out += n;
        len -= n;
    }
    return TRUE;
}
