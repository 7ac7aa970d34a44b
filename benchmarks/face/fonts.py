"""The Debian font packages behind the font benchmarks (no torch import, so
``benchmarks/face/install_fonts.sh`` can read the lists).

``CJK_PACKAGES``: small Japanese and Chinese font packages (Mincho, Gothic,
Kaiti, Ming, brush, handwriting and pixel styles), each covering thousands of
kanji; the large ``fonts-noto-cjk``, ``fonts-cns11643-*``, ``fonts-lxgw-*``,
``fonts-ipamj-mincho`` and ``fonts-mplus`` (20-60 MB each) are left out.
``LATIN_PACKAGES``: small (under 1.5 MB) Debian ``fonts-*`` packages of Latin
type designs; the loader keeps the faces that cover A-Z, a-z and 0-9.
"""

CJK_PACKAGES = (
    "fonts-ipafont-gothic fonts-ipafont-mincho fonts-ipaexfont-gothic "
    "fonts-ipaexfont-mincho fonts-arphic-ukai fonts-arphic-uming "
    "fonts-arphic-bkai00mp fonts-arphic-bsmi00lp fonts-arphic-gbsn00lp "
    "fonts-arphic-gkai00mp fonts-takao-gothic fonts-takao-mincho "
    "fonts-wqy-microhei fonts-wqy-zenhei fonts-sawarabi-gothic "
    "fonts-sawarabi-mincho fonts-aoyagi-kouzan-t fonts-aoyagi-soseki "
    "fonts-kouzan-mouhitsu fonts-misaki fonts-vlgothic fonts-hanazono "
    "fonts-horai-umefont fonts-kiloji fonts-komatuna fonts-konatu fonts-migmix "
    "fonts-monapo fonts-motoya-l-cedar fonts-motoya-l-maruberi fonts-seto "
    "fonts-umeplus fonts-umeplus-cl fonts-droid-fallback"
).split()

LATIN_PACKAGES = (
    "fonts-powerline fonts-roboto fonts-amiga fonts-f500 fonts-atarismall "
    "fonts-creep2 fonts-proggy fonts-sixtyfour fonts-glasstty fonts-uniol "
    "fonts-engadget fonts-humor-sans fonts-radisnoir fonts-hack-ttf "
    "fonts-fantasma fonts-gamaliel fonts-dclfonts fonts-ubuntu-title "
    "fonts-opendin fonts-junction fonts-allerta fonts-rufscript fonts-bajaderka "
    "fonts-staypuft fonts-apropal fonts-leckerli-one fonts-prociono "
    "fonts-havana fonts-ecolier-court fonts-century-catalogue "
    "fonts-quattrocento fonts-goudybookletter fonts-ecolier-lignes-court "
    "fonts-blankenburg fonts-gfs-olga fonts-triod-postnaja fonts-kristi "
    "fonts-gfs-porson fonts-breip fonts-hermit fonts-tomsontalks fonts-lobster "
    "fonts-gfs-solomos fonts-ferrite-core fonts-gfs-complutum fonts-roadgeek "
    "fonts-gfs-baskerville fonts-gfs-didot-classic fonts-gfs-gazis "
    "fonts-gfs-bodoni-classic fonts-kaushanscript fonts-levien-typoscript "
    "fonts-oxygen fonts-oflb-euterpe fonts-isabella fonts-cherrybomb "
    "fonts-beteckna fonts-gfs-theokritos fonts-inconsolata fonts-femkeklaver "
    "fonts-gnutypewriter fonts-dancingscript fonts-summersby fonts-osifont "
    "fonts-joscelyn fonts-lindenhill fonts-adf-oldania fonts-national-park "
    "fonts-terminus fonts-adf-solothurn fonts-adf-libris fonts-pc "
    "fonts-bebas-neue fonts-lobstertwo fonts-sjfonts fonts-monofur fonts-agave "
    "fonts-bwht fonts-adf-universalis fonts-courier-prime "
    "fonts-crosextra-caladea fonts-sil-galatia fonts-campania fonts-adf-mekanus "
    "fonts-quicksand fonts-arapey fonts-comfortaa fonts-anonymous-pro "
    "fonts-adf-ikarius fonts-sora fonts-cabin fonts-adf-baskervald "
    "fonts-adf-irianis fonts-fanwood fonts-roboto-slab fonts-yanone-kaffeesatz "
    "fonts-routed-gothic fonts-play fonts-league-spartan fonts-dkg-handwriting "
    "fonts-monoid fonts-dosis fonts-levien-museum fonts-jura "
    "fonts-klaudia-berenika fonts-3270 fonts-lyx fonts-adf-gillius "
    "fonts-lemonada fonts-adf-verana fonts-adf-accanthis fonts-manrope "
    "fonts-gfs-neohellenic fonts-spleen fonts-cabinsketch fonts-tiresias "
    "fonts-adf-romande fonts-averia-sans-gwf fonts-tuffy fonts-arkpandora "
    "fonts-sil-gentium fonts-averia-serif-gwf fonts-adf-tribun "
    "fonts-gfs-artemisia fonts-cantarell fonts-b612 fonts-averia-gwf "
    "fonts-gfs-didot fonts-pc-extra fonts-gotico-antiqua fonts-adf-berenis "
    "fonts-adf-switzera fonts-mononoki fonts-comic-neue fonts-go "
    "fonts-clear-sans fonts-mph-2b-damase fonts-sil-gentium-basic "
    "fonts-oldstandard fonts-eurofurence fonts-essays1743 fonts-karla "
    "fonts-ebgaramond fonts-jetbrains-mono fonts-cardo fonts-open-sans "
    "fonts-yrsa-rasa fonts-league-mono fonts-crosextra-carlito "
    "fonts-liberation fonts-liberation2 fonts-sil-andikanewbasic "
    "fonts-sil-doulos fonts-vollkorn fonts-paratype fonts-fantasque-sans "
    "fonts-firacode fonts-tlwg-garuda-ttf fonts-tlwg-kinnari-ttf "
    "fonts-tlwg-laksaman-ttf fonts-tlwg-loma-ttf fonts-tlwg-mono-ttf "
    "fonts-tlwg-norasi-ttf fonts-tlwg-purisa-ttf fonts-tlwg-sawasdee-ttf "
    "fonts-tlwg-typewriter-ttf fonts-tlwg-typist-ttf fonts-tlwg-typo-ttf "
    "fonts-tlwg-umpush-ttf fonts-tlwg-waree-ttf"
).split()

if __name__ == "__main__":  # used by install_fonts.sh
    import sys

    print(" ".join({"cjk": CJK_PACKAGES, "latin": LATIN_PACKAGES,
                    "all": CJK_PACKAGES + LATIN_PACKAGES}[sys.argv[1]]))
