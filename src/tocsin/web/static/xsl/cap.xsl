<?xml version="1.0" encoding="UTF-8"?>
<!-- tocsin: a CAP 1.2 message (OASIS Common Alerting Protocol) shown readably in a
     browser that opens its XML. Named by the <?xml-stylesheet?> processing instruction
     of tocsin's messages; XSLT 1.0, no script. Labels are in English and Chinese, as
     the message's own info blocks are. -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:cap="urn:oasis:names:tc:emergency:cap:1.2"
    exclude-result-prefixes="cap">
  <xsl:output method="html" encoding="UTF-8" indent="yes"
      doctype-system="about:legacy-compat"/>

  <xsl:template match="/">
    <html lang="en">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="(cap:alert/cap:info/cap:headline)[1]"/> · CAP</title>
        <link rel="stylesheet" href="/static/css/tocsin.css"/>
      </head>
      <body>
        <main id="main" class="cap-xml">
          <xsl:apply-templates select="cap:alert"/>
        </main>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="cap:alert">
    <h1 id="cap-headline"><xsl:value-of select="(cap:info/cap:headline)[1]"/></h1>
    <section class="card">
      <h2>CAP 1.2 · 通用警报协议</h2>
      <table id="cap-message">
        <tbody>
          <tr><th scope="row">Identifier · 标识</th><td><xsl:value-of select="cap:identifier"/></td></tr>
          <tr><th scope="row">Sender · 发布者</th><td><xsl:value-of select="cap:sender"/></td></tr>
          <tr><th scope="row">Sent · 发布时间</th><td><xsl:value-of select="cap:sent"/></td></tr>
          <tr><th scope="row">Status · 状态</th><td><xsl:value-of select="cap:status"/></td></tr>
          <tr><th scope="row">Type · 类型</th><td><xsl:value-of select="cap:msgType"/></td></tr>
          <tr><th scope="row">Scope · 范围</th><td><xsl:value-of select="cap:scope"/>
            <xsl:if test="cap:restriction"> (<xsl:value-of select="cap:restriction"/>)</xsl:if></td></tr>
          <xsl:if test="cap:references">
            <tr><th scope="row">References · 引用</th><td><xsl:value-of select="cap:references"/></td></tr>
          </xsl:if>
          <xsl:if test="cap:note">
            <tr><th scope="row">Note · 备注</th><td><xsl:value-of select="cap:note"/></td></tr>
          </xsl:if>
        </tbody>
      </table>
    </section>
    <xsl:apply-templates select="cap:info"/>
  </xsl:template>

  <xsl:template match="cap:info">
    <section class="card cap-info" lang="{cap:language}">
      <h2><xsl:value-of select="cap:headline"/></h2>
      <table>
        <tbody>
          <tr><th scope="row">Event · 事件</th><td><xsl:value-of select="cap:event"/>
            (<xsl:value-of select="cap:category"/>)</td></tr>
          <tr><th scope="row">Urgency · 紧迫程度</th><td><xsl:value-of select="cap:urgency"/></td></tr>
          <tr><th scope="row">Severity · 严重程度</th><td><xsl:value-of select="cap:severity"/></td></tr>
          <tr><th scope="row">Certainty · 确定程度</th><td><xsl:value-of select="cap:certainty"/></td></tr>
          <xsl:for-each select="cap:responseType">
            <tr><th scope="row">Response · 应对</th><td><xsl:value-of select="."/></td></tr>
          </xsl:for-each>
          <xsl:if test="cap:effective">
            <tr><th scope="row">Effective · 生效时间</th><td><xsl:value-of select="cap:effective"/></td></tr>
          </xsl:if>
          <xsl:if test="cap:onset">
            <tr><th scope="row">Onset · 开始时间</th><td><xsl:value-of select="cap:onset"/></td></tr>
          </xsl:if>
          <xsl:if test="cap:expires">
            <tr><th scope="row">Expires · 失效时间</th><td><xsl:value-of select="cap:expires"/></td></tr>
          </xsl:if>
          <xsl:if test="cap:senderName">
            <tr><th scope="row">From · 发布机构</th><td><xsl:value-of select="cap:senderName"/></td></tr>
          </xsl:if>
          <xsl:for-each select="cap:area">
            <tr><th scope="row">Area · 区域</th><td class="cap-area"><xsl:value-of select="cap:areaDesc"/></td></tr>
          </xsl:for-each>
        </tbody>
      </table>
      <xsl:if test="cap:description">
        <p class="cap-description"><xsl:value-of select="cap:description"/></p>
      </xsl:if>
      <xsl:if test="cap:instruction">
        <p class="cap-instruction"><strong><xsl:value-of select="cap:instruction"/></strong></p>
      </xsl:if>
      <xsl:if test="cap:web">
        <p><a href="{cap:web}"><xsl:value-of select="cap:web"/></a></p>
      </xsl:if>
    </section>
  </xsl:template>
</xsl:stylesheet>
