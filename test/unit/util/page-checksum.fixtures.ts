/**
 * Real heap and index pages from a PostgreSQL 15 cluster made by `initdb --data-checksums` (first segment of each
 * file, so the absolute block number is the block in the file). Each page is stored gzip-compressed and
 * base64-encoded; `checksum` and `lsn` are the page header's own pd_checksum and pd_lsn, written by PostgreSQL.
 */
import { gunzipSync } from 'node:zlib';

export interface PageFixture {
  readonly file: string;
  readonly block: number;
  readonly checksum: number;
  readonly lsn: bigint;
  readonly gzipBase64: string;
}

export const PAGE_FIXTURES: readonly PageFixture[] = [
  {
    file: 'global/1260',
    block: 0,
    checksum: 0xaf17,
    lsn: 0x14cabf8n,
    gzipBase64:
      'H4sIAAAAAAACA+3UO04CQRzH8d8KPkBIsJJos412vm7gASi4wTos47Jh2d3MjGLpEax52lvoETiCrdrMESzt1sCaoBNDImxl/t9u' +
      'qk/+8wKAj4eatfuYRw31Pdh5GwDuxhr2WONppHE+0ngealwMNd4HGrcDjcpA476vcdrXmPQ06j0NiqIoiqIoiqIoiqIoiqIoiqIo' +
      '6v9lGesySrAKdpL7Wk92gNhz3BZ323Hkh2oFJEmSxPRKhteqzDzpeyELnAZz2zxsZuhtG95bOh+/4e6V4o7k4poLJxaRJ1gnA69o' +
      'eK+p1xX+XLv0Ay4zmq9geC+pJzhrLs0t8rYM76ycnp9iypEuCx3FGn/lFnmbhndSns/HgmAGywzvy4bhHZseV8oPvcz2c93wjlKv' +
      'E4W+isRqj/w3L294h9Vv93M6YJMplqGXM7yD6s/9XIZb5K0Z3n7qTZkGk9yJuiEXGXqW4RUBxJFUnuBy6T86beZ9AjsTpxkAIAAA',
  },
  {
    file: 'base/1/1255',
    block: 0,
    checksum: 0xdf56,
    lsn: 0x1517428n,
    gzipBase64:
      'H4sIAAAAAAACA83Zz3MTZRgH8OcpUQtSNtuYpiVtSSlCAH9W1DIjUuXCUS6Mt1qa3W46dRM3C9ZbBcUqohVBShX05HjkyB/AwYsO' +
      'R0AdmfECN47ccN7kYXjzbbZbkm22O/POJG06/TzfefrMvE+JiPL+ET76b4Ku012iXCJHRHT4Z5sXrjh887LDucvT7Pxk89UfHX6w' +
      'ZPPYksPzl2y+sehwctHj9y76vPiDzXcuOJy/MMPl8y5f+97lB+dmeeyczfPfOXxjocC9CzZ/8G2Bf/vG5vtnbR496/Dc19P8+5lp' +
      'Tp4p8Ptf2fzLl2W+M+9xft7l8hcuXzvtMp12+fDnLi985vLNUy7nTrnsnHT56qcu3507ybSKBz+0lwZpw8bcw4dGR/V9eQtRxZ/w' +
      '/Mr4x0XfoWaeZ4loExFtrr6bO/jo68d6iWxipmKF1G9Lqu9qpq1E1CGv++QM+9asP75chHXsgToOEZH6UesjavoJqkM9T1qHIRh0' +
      '7wb3u0RUdP19M3687owcQzDozoP7HXHHnXedu0Heu8A9VnOPxJ13Wo4hGHTvBPdBccedd527Qd7Pg/ttInInPrTidqfkGIJB9w5w' +
      'HyCiSWfCi9vdLccQDLqHwf2Wmrul0kzc7qQcQzDo3g7u/eKe8teRe2r53+UQuEfFPbOe3A3mSQ7cbxJRqVg4YU36Ja903I/eTVW3' +
      'cvzXSVQG96PXg0SUbQBB/zbwv6H7iy6tpV8Zg/yqtj4Ngu5BcL+u5kqx0GTi0eU+UJ0pjyHoHgD3vpq7yaSfzD0QkneXBkF3P7j/' +
      'ShHNFgujFcstrLXbXMH9R4oopUHQnQX3bXF71uSJtXYrW5D7Xqe4BYLureC+Je5WGjyK/lY1mRoE3X3g/lPcrTR4FHmrmgwNgu5e' +
      'cL9GVXfs86Sfau6geZIB90jN3ZZ50h82T2aD50kPuF9V98x1kHe2escMzjsN7ldq7rbknQ3L2w/O+zlwvyz3+rjnibrTmxoE3Slw' +
      'vyTudsyTvpC8DQ2C7m5wX+wi8kvjnjVV9kqTVuG4Z0XvrtTcSyF5DzWAoN8E/691/jXKXfy9tLI/o0HQnQT3i0Qkn2261VfrXqnP' +
      'VU0ZDYJuA9wvPHY33epR5K1qSmsQdG8B917ZX8U9V9TuytQg6O4C9x5xt2OuZMLmigZB92Zw75b9VSsXzijy7lH3iwYQXva76v35' +
      'On9z6a/W3xOSe7YBBP2bwL9L/HH3e1r6fSSg3zeCe6e429Hv6VX0+0hAv3eCe1j2nnHnrXaepgZB9zPg3i7uduSdCstbg6D7aXAP' +
      'yb427rzVrtbUIOh+Ctz/JGruduTdHZa3BkF3Atzb1N7zE9+aaCHwKPJWO5eUBkH3BnD/nRB3C4FHsQ9SNZkaBN0duMdK1PbMcfe3' +
      '2jGbGoSX/b8Z9ljibkd/J8P6W4P8D2a6wQAAIAAA',
  },
  {
    file: 'base/1/1255',
    block: 7,
    checksum: 0x8d6f,
    lsn: 0x1525308n,
    gzipBase64:
      'H4sIAAAAAAACA9XYzW/bdBgH8Odx2y3bCnOXZllb1mbrRocAIZUcyut25hTBpWUTkZu6rUdqG/vXqq2iKgzGy2Ajg8LGYIED2oHT' +
      'bkwTu++YP2ESAokb/8HAiX9J+MbJRpTIptKTpC9SPt+vHzW2iYhib73J1uVBukM2U2owRUR05ocdLpa3+f7NVVZvnufM94JL3xW4' +
      'ckOweqPAmW8Fl64XuHJtk9VrRc58s8mlr4tc2XVY3d3mzFc7XPpScOWqYPVqgTMlwaUvCly5ssPqFYczlze4+HmZb39W5geXyqxe' +
      'KvOZT8tsf1LmHz8u8/2PbvFfF2/xkYs/8/yHBb7+wTY/uGDzqQs22+/bTP/Tr3/D99IpmqSBfamHDw8q1Z/kmWjJcEXWXuz6PQ4Q' +
      '0X4iGq5+Vzzd/Ltlj2C45L3bvX8eik2mcSJS/NfzCtFZhWjEx6B7BtwF6XbtUN0LSs0+4mPQ/TS436337Ybe90KjbxfdJ8F9nony' +
      'rr6SNUyhO7bop3v+EX17MwEY9J8AvyH9Xl7NzOkh7os3RwGD/mnwP68SGWbW0cwVvZ97M0REKhHdBv+Q//qnPY1R/b99UcKy5vqa' +
      '7hg5+RxwXI5DrucikutXpTbesZO5XqjnWs5bmkjXnuYC/68eg1zPRiTXPaUxbXLNdcqVglwnIpIr0TQy10w9l2GK2epDS54pyDMd' +
      'sTzJjnnSLXkmIc/xiOUZ7ZhnriXPUchzLCJ5kv603bd08L49BXlSEcuT7Jindd8mIM9UxPKMdszTum/jkGcyInlGmyYwz1xwnjHI' +
      's8NEi0JzHG0rt2b3L4/i99/uvOf3WG2SgEH/EfBvMVFOc1ezXesf5efH8h8eqE0cMOhPgv9u3Ot/Q3Nc4ejvrWt5Y037r5v1OP2z' +
      'vyM2+JtfzwRA0H8Y/L8Me36hbwrXcoS7btuWI6g//j9i7f1/xohOBkDQnwD/Kkt/9wvUi/0Z8ycBGPSPgv90tX9TW9Mj0X8LBP1x' +
      '8K+w9Ifbf9yfBGDQfwj8y1V/blVzwvUf8icBGPSPgH+36reMpQ09J6zuQvTCP+nPFGDQr4L/9WHf3/3692z/pwMg6D8I/iXZf8if' +
      'X+P+xAGD/ifB/1q1/9oFYreHoFf9PxMAQf8T4M9xw9/tIehF//IafAww6B8G/6uN/tNR6T/dof8D4F9s9J8Os395f2cMMOjfD/5X' +
      'qv17p9qR+PxtgaB/H/jfGJD+cD+/5LVMAjDoj4H/Zdl/Oir9pzv2vxf8WZb+cPuv378ADPr3gP8l2f9sVPqf7dj/EPjfkf3Phtt/' +
      '/X4lYNA/CP5zTGRb+a2stS76c/7Q6P+3Dv2fU4jiTRB0D4D7rHQbJvXb7dnaub1MI00QdCvgfrve94bu5DW7X27Fv15vty9eJm8m' +
      'AIN+Bv+C9OcsU2iGqS+F658CzN+z2cX4ACAAAA==',
  },
  {
    file: 'base/1/1255',
    block: 95,
    checksum: 0xacf2,
    lsn: 0x157a1f0n,
    gzipBase64:
      'H4sIAAAAAAACA+2ZTWgUVxzA/zOzH7OJZrP58hN9Ui1RK87MfiVbMW7WjVJMNu5uTDWVdTL7dn1m9s3kzZtNQ9iSGiOlRwvWSikW' +
      'aU8eevDUHlpKKdJLhZ6FlopYD0X7AWoLtomRhigULz2U+R1m/v/3hzf/H++9uTwAgLsfjgq/XPFBN3SvBeRDAACXLn7adP29i8L9' +
      'Cx8L3RfeF8DDw8PDw8PDw8PDw8PDw8PDw8PDw8PD43/HR+Ljt7T4LIEPNoHUjB49CgcWRx7GAGzTrjqTZqmum6Ssc4s95zeaAaAJ' +
      'AFYvZrN9y2sVAAHqLixcRNySAWwAeHIpsX5FvO2pRrZsNcl4mbDdS5V/fMQlH2mFz4NlPoSahOLSSZ2WTcz+W5+fZIDdz27kaall' +
      '6yQseYkrvO4v8zJ003x+q3/1ggWvBW7LACdWeD1h57OaeIZRl7h89hIIT3xyTYsjl6MAJbtaIpRjVtfNEp+28XPuu3ejj31aFrNr' +
      '/U+tE3EW98m6BdsVPuKyeA0AFJ4U1y0VF/KtAMCnbVIGgI0AULPKCwcp0AbwYwgAZg6PZPNHUQoMq1bTabkI0zZGKkpNgovZdMFy' +
      'GRgYKShl6EALmBf1KgLOXIxSLgdiEj5d4DXgaM9elGIYHNfkeWzqrZxYVNBO6g6kq1UHVXTT52AxPEpo2UJTAy41Ql1FfZZVMS/k' +
      'B0KdswV3/BChE6F22E8cTqjBfTkqd+ax4bJWh9Sx3DFolYFUpgmtZopiVl4zYLERu3xG56GdeWuqIPTLhE/7u4iTx63cZdR32+BY' +
      'PkQc302uj5siFptPWYRyBhijmYF8bhCyrw7nUarCZKtm+l+adHUTHLRnbwOluCT+IA50zxTT+QMoW8wOFSMOfh1shmYy6UI2LfUb' +
      'uoN5ZFYT49JqwzJNUgakKgpK6Uysisd0VnVQ9xYxMXowO+QfyA0L0n7LphZKKP1JoaniUkPo6xmKCS3tl8UTakKK8IMO5v4Hlu2j' +
      'yixKEWq7PBgWfM5wOp8eRCmwdabXJggtiRvE1ULZ1yx9ngi21BSrjHb5NwULpiUaL+xQE8kGmoF89lC6P3uoKB8dzkp3ZjK5oa2F' +
      '4pbz1JGuatHNwRb/iNgaHBHDJqY+FPOtGp+u66bU+Y0QIQ51TbPZ/2twPunX6rrpAkYxNIZ29aIYiiFFFo83+rbdDtwKhP3npEjw' +
      'HYbB1MexWbEYqukcaTLfpXY0tjfNKYESmhlYOzKU2Xqk/auepPqytCr0Ztzfvu6a0FbXv2BELxMj1OGbe0ORWrYfW/fztonI3ZZ5' +
      'rUuJdIfPatHw2e2q0jO3eVVx98NBLaE2UHiseYfWNBYNj62P7ziuRf/safQVxHS1rxBqa0uMBDYdiB7pyPWNNmnJZGpU25dAY0hV' +
      '4kdUUOJIVRWkgppAqqIuBDGkqj2oV0xGbqJeFcUUQDEVxXpQDOIonkS9UQQxDUU1FI3vQ9EYiiZ9oeOR8I3xqNLbdCOOxs4gLbsz' +
      'GkfHN5zer/U0t6pq41hAuydsLuNKVgxfzxW6gt8OaRuujH8WvBRPZj6gL1pb7gkhveY0L5wYx2K8yizk2gxXMr871j5GqnzclFuM' +
      'Ly1/yymXTkjnhN9mrTpmjJRPV8CiGYtWTPK1MT8y+Tah1fqcWPk+Y+quIzXE1vn1kv+W2ElotYC5NDk3eadOaPWwe1U3xfDU6bfk' +
      'gbIvHZTbhe/ksElqhK/NVSrp1wKtGctto3I4Z8//wayp1kGdTUgNB3M7Z2PWdlBqa6uwWZ1Qvh/bUjtMEX4ycxIbgQkpK3XWMKvi' +
      'jWlDiHQJYseIgyHncsxesUj6/GqH13ip6xNF8EcwRUrj7//UX0ZtJl4AIAAA',
  },
  {
    file: 'base/1/1249',
    block: 3,
    checksum: 0x73f5,
    lsn: 0x14db788n,
    gzipBase64:
      'H4sIAAAAAAACA8XY2XITRxQG4D7WYPACjHcwS04gKxCiQJbL+AVS5UfwMNOgLo9m2poRJd2Z3QECIkBYAsSP4Kvk1pUn8CP4BVLl' +
      'i3CTTZRBqCPTjTndqpJupsq+0Ff/tE6fcxhjbOm37+B55rE/mQ8MPWSMMfkLwvozhNlnCKtPEYpPEZafIPhPEBZ/Rth4jDD3GGHt' +
      'EcLMI4SVhwj4EKHxAIE9QJA/IazfR5i9j7B6D6F4D2H5LoJ/F2HxR4SNOwhzdxDWGggzDYSV2wh4G6FxC4HdQpA/IKzfRJi9ibB6' +
      'A6F4A2H5OoJ/HWHxe4SNJYS5JYS1awgz1xBWriLgVYTGFQR2BUFeRli/hDB7CWH1IkLxIsLyBQT/AgJ7y6fznwX2DZtmMIDN5rev' +
      '/nJqkLFaWSTM4XOw9fTYf83NZ7P1ASFb3w9Gz9caT5iLyMVzoPXsZ80OD8u293yl8YgkkhVuT/q9bZhgHR5R61D8WnjT86Xew2uy' +
      'krl7xsme03pPKnOR2h6iybZh7OX3Kc/27+uU3hPGQWadz+G2YZTs+cLgSeM4sI1IeUbInqLeM8/r9r8v9b58sudzvUdkFS5jEfEk' +
      'p3v8lgHY3o7zDOH2npMmTyzOc8t8lGcP2fOZOZ8gqrt6dpM9JwznucTDedt7Q3mGyZ7jpnzOB7HtraE8Q2TPMZMnjKtZzq2uDeUZ' +
      'JHs+NXjKZR6JIOdu+QyQPZ+Y8uG1zYSsKqLy7CJ7PjZ5ZEWUg0rdLZ+dZM9Hek9SjeMsSfNIZLlIwtzS00/2fGjKp5qIhSp3/H3t' +
      'IHs+MOQzz+tBnttd8RMtQx/zOj3v0B8eNXisMR2eAtlzRO+p8Ni+h55uGTzWx6j9/PumftVBpDxA9uAWz+lBxvLgTMxTt3xezTt/' +
      'keed9zSesBzUXOadQ23P32TPYY2n5uhR8+A/ZM8hbT5u86nK51+y56A2n97Nywd0+fRwXp7WeERSingehCXJk0gk5+zvC498X+zX' +
      'ezK+kKS2+Uy160+BXH/26T0yqFiNOs71eUrv6dJ9Qa/Pk1s8J3tcnyc0nl7W53GNp5f1eUybT+/q86g2n97V5xFdPj2sz77OkyZn' +
      'XBJS+8Np8v5wr96zOQ2m0tLjea8N+7fso2pvpLLVs0fvORvxOON5mMYWXf0fhdeGfWTPboPnLF/oQj5TZM+w3iNlVzyTZM+QwdOd' +
      'fCbInkHD+3JZsKrzM072DOg9Tvte5Rkje3bpPUkqkhKvCKsWSPWHo+T+cKfeI5JSmFYtOzLVH46Q+59+gyeL0zCIXfeZPjmfHYbz' +
      'XA7ysJTXpc0GaNRhP++Z67Ol5v8e+n6+YPBUZdQFD30/32fwuDT0qp8fJp9nMNTnl/OOpUh5hrb1vACwj7ZGACAAAA==',
  },
  {
    file: 'base/1/2662',
    block: 1,
    checksum: 0xab8b,
    lsn: 0x158af18n,
    gzipBase64:
      'H4sIAAAAAAACA+2YWZCcVRXH/0kmyWw9c5NJMhNU5qBBCRCmI4kkkwBdBhU3bClBjElokSSCCl9wwwX5cEFInOlv9n2m3y1JV5ly' +
      'K7Xa7dVqq5SyLJXPhbLKheryQXzwwfOfh77/Rx58nHn78bv3u/eee865HQBg6PJ9my59A/hBR6XQGu4wAMjXDM01Q2PNUF8z1NYM' +
      '2ZohXTMka4aK+7L7kvuie3Mf3MN9a9WQrxqaq4bGqqG+aqitGrJVQ7pqSNxX3Jfdl9wX3Zv74B7uWyuGfMXQXDE0Vgz1FUNtxZCt' +
      'GNIVQ+K+4r7svuS+6N7438YMwcfAx7SWDfmyoblsaCwb6suG2rIhWzaky4bEfcV92X3JfdG9uQ/u4b61ZMiXDM0lQ2PJUF8y1JYM' +
      '2ZIhXTIk7ivuy+5L7ovuzX1wD/etRUO+aGguGhqLhvqiobZoyBYN6aIhcV9xX3Zfcl90b+6De7hvLRjyBUNzwdBYMNQXDLUFQ7Zg' +
      'SBcMifuK+7L7kvuie3Mf3MN9a96Qzxua84bGvKE+b6jNG7J5QzpvSNxX3Jfdl9wX3Zv74B7uW3OGfM7QnDM05gz1OUNtzpDNGdI5' +
      'Q+K+4r7svuS+6N7cB/dw35o15LOG5qyhMWuozxpqs4Zs1pDOGhL3Ffdl9yX3RffmPriH+9aMIZ8xNGcMjRlDfcZQmzFkM4Z0xpC4' +
      'r7gvuy+5L7o398E93LemDfm0oTltaEwb6tOG2rQhmzak04bEfcV92X3JfdG9uQ/u4b41ZcinDM0pQ2PKUJ8y1KYM2ZQhnTIk7ivu' +
      'y+5L7ovuzX1wD/etSUM+aWhOGhqThvqkoTZpyCYN6aQhcV9xX3Zfcl90b+6De7hvTRjyCUNzwtCYMNQnDLUJQzZhSCcMifuK+7L7' +
      'kvuie3Mf3MN9KzPkmaGZGRqZoZ4ZapkhywxpZkjcV9yX3ZfcF92b++Ae7ltVQ141NKuGRtVQrxpqVUNWNaRVQ+K+4r7svuS+6N7c' +
      'B/dw3xo35OOG5rihMW6ojxtq44Zs3JCOGxL3Ffdl9yX3RffmPriH+9aYIR8zNMcMjTFDfcxQ8/rOxgzpmCFxVx5bb1Ubfxt/G3+v' +
      '+K8H2xBwuHuDN3iDN3iD/7/cjS4EXBx5pb4bnQh4WngrAp4S7kDAE8JbEPC48HYEfEKY6z3S5m0YQcDDwjcg4Jzw6xHwgMzfjIAz' +
      'wpsQcFLGX4uAe4Vfi4C7hYcRcJfwqxFwZ5u78DoEnBDm/NuFr0HAqLAxfsL8/kHhqxFwQPg1CNgvzPX3Cb8KAcPCVyHgKuG9CNgt' +
      'PISAIDyIgB7hPX5/24R3+/1tEt6FgP/eFHkAAS8L70TAv4R3+P29JBz8/v7W5q3r8X9RmPHMhTn//FBkzj/X5s24zuefFX4DAh4c' +
      'iusxnz4s8xmv+4UZrzMyvoCA0/K9GxFwjzDz7X3CzDcT5nmG5fu8/xcHI/N+/yLMfPizMPPhT8K8/z8K8/5zYd7vC8K83z8MxvP0' +
      'eb7/VrgXAb8R7vf8f77N23HYz/cr+R7r+TFhxvOCzGc9JeKZTxcHYjw4/2SIzPkfaPOW9fn3iT+AgPcL87z3CvP+7hFmP7lbmP3k' +
      'vcLdCCgLMwPfI8x8v0uY+f7uNm9aP8+7hDn+nTKe8X2HMPPn7cLMrzuFeV9vE74eAW8V3o+Atwizf90hzHidkP0wX0rCzK/bhZk/' +
      'twkznrfK95h/x4X5vWPCzKdRYcbjqDD7wRFh9oNbhNkP3iTMej4szHo+JMx8vFn2y3p7ozDjdVDG87xFYZ53RHif1/Pv+yOzv/yu' +
      'P+Yfv7fS5o71fvKdvsjsJ99uc+d6fK6IZ32nwuz/e4UZ3yFh9otBYfaLPcLc725h7neXrM/7GxBmPewUZjx2CDMeoS+en/vrF+b+' +
      '+/pi/bI/FPpifbO+esUzv7vEsyN3CrPe/lOI41kvLwuzvv4tzHx5vhDnsz5/XYjn535+Idzj93tZmOs9V4jnZX59Uzx/P3xdmPu9' +
      'JONZvxdlfY5PCzE/+P0nCzH/eB+JMOP5qIzne/GQeN7veWHe77lC/D3B85yVeJBPyH7Yz94s+6U/LOuxXxwSZr3cLN9j/Q3K99iP' +
      '94jneb/fG5nx+V5vXI/n/a54xuuUMPNjpDeejxV9k3jWc6E3xp/11iXM/XfKeqyX7b3xPIzflZ7ouf9v9cT85f7nhLn/2Z74febf' +
      'jMwnT8t45tewMON7dU88D+tjr/B6PQuzPwwKs773CDPfdwuzX+4S5ns3IMz82SnM+t4hzPckCPM96Rdmv+7rifFjfv68OzL3/zNh' +
      'zv+pMOf/pDvGi/f5Y/GMbybM+692x3iTx4WZv2PC/N4lYa53UZjvy7PyffbjZ8Sz/31NmPF5Wpjv41dlPuP7FWHu58vC3M+XhLn+' +
      'U8LMl1SY6z0pzPv4oqzP+nhCmP3yCzKe+fF5YfaDzwmz3j4rzPp9XJj59Blh5tOnZT3u51PCvN9PCq//+0qY/fcxYa53QZjrJcJc' +
      '71Fh9ttHhPmef1yY9f8x2S/9R4XpHxZm/B4SZvw+Isz34bww+8E5WY/+rDD9gzJ+/d8DwuwfDwizH3xImP2gIsx+cL8wfw+cEeb7' +
      'e1qY7+8pYebvB4XZP05KvfG8x7vj/+Hk/RwTz/2NCjPfjwozwkeEeZ+3CPP8h7rj7/1b+V4I38bfWzKe93NQmPdfFOb+RmT+cfZ/' +
      '8bzvA+KPIeBG8Yz/DcLsL9cLM6P2C/M9vk7ix/wbkPvmfZzuiuNZD6e6Yn/ke3ONMPuLyXje71BXfL943iud8f1kPtQ74/o8/6XO' +
      'eL6D7Gdb4/fYf58VZj291BGZ/e+fHXE9jv9HR/zeqNfL34WPev7/VfgI/33YEfOF+fBCR4wH8/GXwszHpqzP/vAjYfa/H8p+GO/j' +
      'WyKzvo5tifFg/xwVz/Wv3RzX43u2b3P0zM/LiMz5zyGOZ7++IMzfM0mbA79v1ZF43s3tcwP/AxI4Y5UAIAAA',
  },
];

/** The fixture's 8192-byte page. */
export function fixturePage(fixture: PageFixture): Buffer {
  return gunzipSync(Buffer.from(fixture.gzipBase64, 'base64'));
}
