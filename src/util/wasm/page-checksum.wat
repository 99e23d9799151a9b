;; PostgreSQL's data-page checksum (the algorithm of storage/checksum_impl.h) for many 8192-byte pages at once, with
;; WebAssembly's 128-bit SIMD: the 32 lanes of the algorithm are eight i32x4 vectors, so one row of a page (32
;; little-endian words, 128 bytes) is eight loads, eight xors, eight multiplications, eight shifts and eight xors.
;; The same arithmetic as page-checksum.ts's JavaScript, which stays the reference and the fallback.
;;
;; Compiled by scripts/build-wasm.mjs into page-checksum-wasm.ts (the module's bytes, base64), which is committed.
(module
  (memory (export "memory") 1)

  ;; checksums of `count` pages starting at byte `src`, for block numbers block, block + 1, ...: one u16 each,
  ;; written from byte `dst` on. pd_checksum (the low half of word 2) is counted as zero; pages are not skipped.
  (func (export "checksumPages") (param $src i32) (param $count i32) (param $block i32) (param $dst i32)
    (local $page i32) (local $row i32) (local $end i32) (local $folded i32) (local $mix v128) (local $prime v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $s4 v128) (local $s5 v128) (local $s6 v128) (local $s7 v128)
    (local.set $prime (i32x4.splat (i32.const 16777619)))
    (local.set $page (local.get $src))
    (local.set $end (i32.add (local.get $src) (i32.mul (local.get $count) (i32.const 8192))))
    (block $pages_done
      (loop $pages
        (br_if $pages_done (i32.ge_u (local.get $page) (local.get $end)))
        ;; the per-lane starting values of PostgreSQL's on-disk format
        (local.set $s0 (v128.const i32x4 0x5b1f36e9 0xb8525960 0x02ab50aa 0x1de66d2a))
        (local.set $s1 (v128.const i32x4 0x79ff467a 0x9bb9f8a3 0x217e7cd2 0x83e13d2c))
        (local.set $s2 (v128.const i32x4 0xf8d4474f 0xe39eb970 0x42c6ae16 0x993216fa))
        (local.set $s3 (v128.const i32x4 0x7b093b5d 0x98daff3c 0xf718902a 0x0b1c9cdb))
        (local.set $s4 (v128.const i32x4 0xe58f764b 0x187636bc 0x5d7b3bb1 0xe73de7de))
        (local.set $s5 (v128.const i32x4 0x92bec979 0xcca6c0b2 0x304a0979 0x85aa43d4))
        (local.set $s6 (v128.const i32x4 0x783125bb 0x6ca8eaa2 0xe407eac6 0x4b5cfc3e))
        (local.set $s7 (v128.const i32x4 0x9fbf8c76 0x15ca20be 0xf2ca9fd3 0x959bd756))
        ;; row 0, whose word 2 (lane 2 of the first vector) holds pd_checksum in its low half
        (local.set $mix (v128.xor (local.get $s0) (v128.and (v128.load (local.get $page)) (v128.const i32x4 -1 -1 0xffff0000 -1))))
        (local.set $s0 (v128.xor (i32x4.mul (local.get $mix) (local.get $prime)) (i32x4.shr_u (local.get $mix) (i32.const 17))))
        (local.set $mix (v128.xor (local.get $s1) (v128.load offset=16 (local.get $page))))
        (local.set $s1 (v128.xor (i32x4.mul (local.get $mix) (local.get $prime)) (i32x4.shr_u (local.get $mix) (i32.const 17))))
        (local.set $mix (v128.xor (local.get $s2) (v128.load offset=32 (local.get $page))))
        (local.set $s2 (v128.xor (i32x4.mul (local.get $mix) (local.get $prime)) (i32x4.shr_u (local.get $mix) (i32.const 17))))
        (local.set $mix (v128.xor (local.get $s3) (v128.load offset=48 (local.get $page))))
        (local.set $s3 (v128.xor (i32x4.mul (local.get $mix) (local.get $prime)) (i32x4.shr_u (local.get $mix) (i32.const 17))))
        (local.set $mix (v128.xor (local.get $s4) (v128.load offset=64 (local.get $page))))
        (local.set $s4 (v128.xor (i32x4.mul (local.get $mix) (local.get $prime)) (i32x4.shr_u (local.get $mix) (i32.const 17))))
        (local.set $mix (v128.xor (local.get $s5) (v128.load offset=80 (local.get $page))))
        (local.set $s5 (v128.xor (i32x4.mul (local.get $mix) (local.get $prime)) (i32x4.shr_u (local.get $mix) (i32.const 17))))
        (local.set $mix (v128.xor (local.get $s6) (v128.load offset=96 (local.get $page))))
        (local.set $s6 (v128.xor (i32x4.mul (local.get $mix) (local.get $prime)) (i32x4.shr_u (local.get $mix) (i32.const 17))))
        (local.set $mix (v128.xor (local.get $s7) (v128.load offset=112 (local.get $page))))
        (local.set $s7 (v128.xor (i32x4.mul (local.get $mix) (local.get $prime)) (i32x4.shr_u (local.get $mix) (i32.const 17))))
        (local.set $row (i32.add (local.get $page) (i32.const 128)))
        ;; rows 1 to 63
        (loop $rows
          (local.set $mix (v128.xor (local.get $s0) (v128.load offset=0 (local.get $row))))
          (local.set $s0 (v128.xor (i32x4.mul (local.get $mix) (local.get $prime)) (i32x4.shr_u (local.get $mix) (i32.const 17))))
          (local.set $mix (v128.xor (local.get $s1) (v128.load offset=16 (local.get $row))))
          (local.set $s1 (v128.xor (i32x4.mul (local.get $mix) (local.get $prime)) (i32x4.shr_u (local.get $mix) (i32.const 17))))
          (local.set $mix (v128.xor (local.get $s2) (v128.load offset=32 (local.get $row))))
          (local.set $s2 (v128.xor (i32x4.mul (local.get $mix) (local.get $prime)) (i32x4.shr_u (local.get $mix) (i32.const 17))))
          (local.set $mix (v128.xor (local.get $s3) (v128.load offset=48 (local.get $row))))
          (local.set $s3 (v128.xor (i32x4.mul (local.get $mix) (local.get $prime)) (i32x4.shr_u (local.get $mix) (i32.const 17))))
          (local.set $mix (v128.xor (local.get $s4) (v128.load offset=64 (local.get $row))))
          (local.set $s4 (v128.xor (i32x4.mul (local.get $mix) (local.get $prime)) (i32x4.shr_u (local.get $mix) (i32.const 17))))
          (local.set $mix (v128.xor (local.get $s5) (v128.load offset=80 (local.get $row))))
          (local.set $s5 (v128.xor (i32x4.mul (local.get $mix) (local.get $prime)) (i32x4.shr_u (local.get $mix) (i32.const 17))))
          (local.set $mix (v128.xor (local.get $s6) (v128.load offset=96 (local.get $row))))
          (local.set $s6 (v128.xor (i32x4.mul (local.get $mix) (local.get $prime)) (i32x4.shr_u (local.get $mix) (i32.const 17))))
          (local.set $mix (v128.xor (local.get $s7) (v128.load offset=112 (local.get $row))))
          (local.set $s7 (v128.xor (i32x4.mul (local.get $mix) (local.get $prime)) (i32x4.shr_u (local.get $mix) (i32.const 17))))
          (local.set $row (i32.add (local.get $row) (i32.const 128)))
          (br_if $rows (i32.lt_u (local.get $row) (i32.add (local.get $page) (i32.const 8192)))))
        ;; two rounds of zero words, so the last row's bits reach the low bits kept below; then fold by xor
        (local.set $mix (v128.xor (v128.xor (v128.xor (call $twice (local.get $s0)) (call $twice (local.get $s1)))
                                            (v128.xor (call $twice (local.get $s2)) (call $twice (local.get $s3))))
                                  (v128.xor (v128.xor (call $twice (local.get $s4)) (call $twice (local.get $s5)))
                                            (v128.xor (call $twice (local.get $s6)) (call $twice (local.get $s7))))))
        (local.set $folded (i32.xor (i32.xor (i32x4.extract_lane 0 (local.get $mix)) (i32x4.extract_lane 1 (local.get $mix)))
                                    (i32.xor (i32x4.extract_lane 2 (local.get $mix)) (i32x4.extract_lane 3 (local.get $mix)))))
        (i32.store16 (local.get $dst)
          (i32.add (i32.rem_u (i32.xor (local.get $folded) (local.get $block)) (i32.const 65535)) (i32.const 1)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 2)))
        (local.set $block (i32.add (local.get $block) (i32.const 1)))
        (local.set $page (i32.add (local.get $page) (i32.const 8192)))
        (br $pages))))

  ;; two rounds of the mix with a zero word
  (func $twice (param $s v128) (result v128)
    (local $prime v128)
    (local.set $prime (i32x4.splat (i32.const 16777619)))
    (local.set $s (v128.xor (i32x4.mul (local.get $s) (local.get $prime)) (i32x4.shr_u (local.get $s) (i32.const 17))))
    (v128.xor (i32x4.mul (local.get $s) (local.get $prime)) (i32x4.shr_u (local.get $s) (i32.const 17)))))
